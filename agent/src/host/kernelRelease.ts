// What the running kernel's release says about the BPF features kotel adapts to.
import * as os from 'node:os';

/** major.minor of a release string such as '6.1.0-50-amd64' or '5.14.0-362.el9.x86_64'; undefined if unparsable */
export function kernelVersion(release = os.release()): [number, number] | undefined {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** whether the release is major.minor or later; undefined if unparsable */
export function kernelAtLeast(major: number, minor: number, release = os.release()): boolean | undefined {
  const v = kernelVersion(release);
  return v && (v[0] > major || (v[0] === major && v[1] >= minor));
}

/** Tracing programs on kernels 5.7-6.0 may use only preallocated hash maps: run-time allocation there
 * trips WARN_ONCE (a panic with panic_on_warn), and PREEMPT_RT kernels refuse the program (verifier,
 * check_map_prog_compatibility). 6.1 brought the BPF memory allocator, which makes it safe, so kotel's
 * no-prealloc maps (sized for the worst case, filled by few keys) are preallocated only before 6.1. */
export function needsPreallocatedHashMaps(release = os.release()): boolean {
  return kernelAtLeast(6, 1, release) === false;
}
