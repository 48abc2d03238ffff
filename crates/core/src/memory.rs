//! Process-wide allocator settings.

/// Makes glibc's `malloc` keep freed memory for reuse instead of handing it back to the
/// system: allocations up to 32 MiB come from the heap rather than from fresh mappings, and the
/// heap is trimmed only once 256 MiB lie free at its top. A training step allocates and frees
/// the same multi-megabyte buffers (activations, gradients) every batch; with glibc's defaults
/// each of them is a fresh mapping or trimmed memory whose pages fault in again on first
/// write, which cost a quarter of a small CNN's training time. Memory the process held at its
/// peak stays with it. No effect on other C libraries.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // SAFETY: mallopt only changes the allocator's thresholds; any value is accepted or
        // refused as a whole.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, 256 << 20);
        }
    }
}
