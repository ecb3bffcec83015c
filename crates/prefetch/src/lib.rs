//! A cache prefetch hint.
//!
//! The pure crates forbid `unsafe`, and the CPU's prefetch instruction is reachable in stable Rust
//! only through an `unsafe` intrinsic. The instruction has no architectural effect (it reads
//! nothing the program can observe and never faults), so it is wrapped here once, as a safe call.
#![no_std]
#![deny(unsafe_code)]

/// Asks the CPU to start loading the cache line holding `p` into every cache level, and returns
/// at once. Changes nothing the program can observe, whatever `p` points at (dangling included).
#[inline(always)]
pub fn read<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    #[allow(unsafe_code)]
    // SAFETY: PREFETCHT0 is a hint: it performs no architectural memory access and cannot fault,
    // so any pointer value is sound; SSE, which provides it, is part of the x86_64 baseline.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

#[cfg(test)]
mod tests {
    use super::read;

    #[test]
    fn a_hint_on_any_pointer_changes_nothing() {
        let v = [7u8; 256];
        read(v.as_ptr());
        read(v.as_ptr().wrapping_add(1 << 20));
        read(core::ptr::null::<u64>());
        assert_eq!(v, [7u8; 256]);
    }
}
