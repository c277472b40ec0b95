//! Test guest: looks for what an earlier call left in its linear memory, then leaves a trace
//! of this call there, in the heap and in memory it grows past what the host keeps resident.
//! A fresh instance must find nothing; the next record of a batch, on the same instance,
//! finds the trace of the one before (which shows the search works).
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact;
use sluice_plugin_sdk::types::{Context, RecordData};

/// The trace, stored reversed so that the guest's own data never holds it forwards.
const TRACE_REVERSED: &[u8] = b":llac reilrae na fo ecart";

/// 64 KiB pages grown per call: 3 MiB, past the 2 MiB the host keeps resident.
const GROW_PAGES: usize = 48;

struct Guest;

fn trace_at(memory: &[u8], at: usize) -> bool {
    let n = TRACE_REVERSED.len();
    (0..n).all(|k| memory[at + k] == TRACE_REVERSED[n - 1 - k])
}

fn write_trace(to: &mut [u8]) {
    let n = TRACE_REVERSED.len();
    for (k, b) in to[..n].iter_mut().enumerate() {
        *b = TRACE_REVERSED[n - 1 - k];
    }
}

impl redact::Guest for Guest {
    fn check_config(_config: String) -> Result<(), Vec<String>> {
        Ok(())
    }

    fn redact(_ctx: Context, _record: RecordData) -> Result<Vec<redact::Edit>, String> {
        let size = core::arch::wasm32::memory_size(0) * 65536;
        // SAFETY: every address below the memory's size is valid to read in WebAssembly,
        // and nothing writes memory while the slice is alive.
        let memory = unsafe { std::slice::from_raw_parts(1 as *const u8, size - 1) };
        let n = TRACE_REVERSED.len();
        if let Some(at) = (0..memory.len() - n).find(|&i| trace_at(memory, i)) {
            return Err(format!("found an earlier call's trace at {}", at + 1));
        }
        // In the heap, kept alive for the rest of the instance.
        let mut heap = vec![0u8; 64 << 10];
        write_trace(&mut heap[1000..]);
        std::mem::forget(heap);
        // In fresh pages at the end of memory.
        let before = core::arch::wasm32::memory_grow(0, GROW_PAGES);
        if before == usize::MAX {
            return Err("could not grow memory".into());
        }
        let start = before * 65536;
        for page in 0..GROW_PAGES {
            let at = start + page * 65536 + 100;
            // SAFETY: the pages were just grown, nothing else refers to them.
            let to = unsafe { std::slice::from_raw_parts_mut(at as *mut u8, n) };
            write_trace(to);
        }
        Ok(Vec::new())
    }
}

sluice_plugin_sdk::redaction::export_redaction!(Guest);
