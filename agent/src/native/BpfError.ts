/** An error from libbpf or the kernel, thrown by the native addon. */
export class BpfError extends Error {
  constructor(
    /** the libbpf operation that failed, e.g. 'bpf_object__open_file' */
    readonly op: string,
    /** positive errno */
    readonly errno: number,
    /** errno name, e.g. 'EPERM' */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'BpfError';
  }
}
