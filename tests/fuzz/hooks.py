"""Schemathesis hooks of the API fuzzer (tests/all/fuzz.rs): NDJSON bodies.

The OpenAPI document describes an `application/x-ndjson` body as an array of its lines; a
request array is sent one JSON value per line, and a response is read back as the array of
its lines, so that both are checked against the document.
"""

import json

import schemathesis


@schemathesis.serializer("application/x-ndjson")
def ndjson_serializer(ctx, value):
    lines = value if isinstance(value, list) else [value]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    return {"data": text.encode("utf-8")}


@schemathesis.deserializer("application/x-ndjson")
def ndjson_deserializer(ctx, response):
    text = response.content.decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@schemathesis.serializer("application/wasm")
def wasm_serializer(ctx, value):
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
    elif hasattr(value, "data"):
        data = value.data
    elif isinstance(value, str):
        data = value.encode("utf-8")
    else:
        data = json.dumps(value).encode("utf-8")
    return {"data": data}
