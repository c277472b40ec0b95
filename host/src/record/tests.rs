//! Unit tests of `record`.

use super::*;
use serde_json::json;

#[test]
fn removes_nested_fields_and_array_items() {
    let mut v = json!({"a": {"b": 1, "c~/d": 2}, "l": [1, 2, 3]});
    assert!(remove_at(&mut v, "/a/c~0~1d"));
    assert!(remove_at(&mut v, "/l/1"));
    assert!(!remove_at(&mut v, "/missing/x"));
    assert_eq!(v, json!({"a": {"b": 1}, "l": [1, 3]}));
}

#[test]
fn removing_all_at_once_is_removing_one_by_one_from_the_last() {
    let v = json!({"a": {"b": [1, {"x": 2, "y": [3, 4, 5]}, 6, 7], "c~/d": 8},
                   "l": [[1, 2], [3, 4], 5, 6, 7, 8], "e": 9});
    let sets: &[&[&str]] = &[
        &["/l/1", "/l/0/1", "/l/3", "/l/5"],
        &["/a/b/1/y/0", "/a/b/1/y/2", "/a/b/0", "/a/b/3", "/a/c~0~1d"],
        &["/a/b/1", "/a/b/1/x", "/a/b/1/y/1", "/l/0", "/l/0", "/e"],
        &["/a", "/a/b/2", "/l/2", "/l/4", "/missing/x", "/l/9"],
        &["/l/0/0", "/l/0/1", "/l/1/0", "/l/1/1", "/l/0", "/l/1"],
    ];
    for set in sets {
        let mut one_by_one = v.clone();
        let mut sorted = set.to_vec();
        sorted.sort_by(|a, b| pointer_order(b, a));
        sorted.dedup();
        for p in sorted {
            remove_at(&mut one_by_one, p);
        }
        let mut at_once = v.clone();
        remove_all(&mut at_once, set);
        assert_eq!(at_once, one_by_one, "{set:?}");
    }
    // Every other element of a long array, as a card-redaction plugin may ask.
    let mut long = Value::Array((0..10_000).map(Value::from).collect());
    let paths: Vec<String> = (0..10_000).step_by(2).map(|i| format!("/{i}")).collect();
    let mut wrapped = json!({ "l": long.take() });
    let paths: Vec<String> = paths.iter().map(|p| format!("/l{p}")).collect();
    let refs: Vec<&str> = paths.iter().map(String::as_str).collect();
    remove_all(&mut wrapped, &refs);
    let expected: Vec<Value> = (1..10_000).step_by(2).map(Value::from).collect();
    assert_eq!(wrapped, json!({ "l": expected }));
}

#[test]
fn projects_only_the_listed_paths() {
    let v = json!({"name": "A", "address": {"line1": "1 St", "city": "X"}, "phone": "1"});
    let p = project(
        &v,
        &["/name".into(), "/address/city".into(), "/absent".into()],
    );
    assert_eq!(p, json!({"name": "A", "address": {"city": "X"}}));
    assert_eq!(project(&v, &["".into()]), v);
}

#[test]
fn pointers_order_array_indices_as_numbers() {
    let mut paths = vec!["/a/10", "/a/9", "/a/1/b", "/a/1", "/b", "/a/0"];
    paths.sort_by(|a, b| pointer_order(b, a));
    assert_eq!(paths, ["/b", "/a/10", "/a/9", "/a/1/b", "/a/1", "/a/0"]);
}

#[test]
fn decision_paths_never_hold_a_card_number() {
    assert_eq!(without_cards("/notes/0/text".into()), "/notes/0/text");
    assert_eq!(
        without_cards("/fields/4111 1111 1111 1111/note".into()),
        "/fields/[card number removed]/note"
    );
    assert_eq!(
        without_cards("/a~14111111111111111".into()),
        "/a~1[card number removed]"
    );
    assert_eq!(
        without_cards("/order_2024000123456789".into()),
        "/order_2024000123456789"
    );
}

#[test]
fn projections_keep_arrays_and_numbers() {
    let v = json!({"codecs": ["opus", "g722"], "lines": [{"n": 1, "x": 2}, {"n": 3}],
                   "big": 18446744073709551615u64, "f": 1.5, "map": {"0": "zero"}});
    let p = project(
        &v,
        &[
            "/codecs/0".into(),
            "/codecs/1".into(),
            "/lines/1/n".into(),
            "/big".into(),
            "/f".into(),
            "/map/0".into(),
        ],
    );
    assert_eq!(
        p,
        json!({"codecs": ["opus", "g722"], "lines": [{"n": 3}],
               "big": 18446744073709551615u64, "f": 1.5, "map": {"0": "zero"}})
    );
}
