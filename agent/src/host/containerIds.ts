// Kubernetes pod UID and container id from a cgroup path, as the kubelet and the container runtimes name
// their cgroups (the same names in cgroup v1 hierarchies and in the unified v2 one):
//   kubelet, systemd driver:  .../kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid>.slice
//                             (the UID's '-' written '_': '-' is systemd's slice separator; Guaranteed pods
//                             sit directly under kubepods.slice as kubepods-pod<uid>.slice; kind prefixes
//                             every name with kubelet-)
//   kubelet, cgroupfs driver: .../kubepods/burstable/pod<uid>, .../kubepods/pod<uid>
//   a container, systemd:     <runtime>-<64 hex>.scope (docker-, cri-containerd-, crio-, libpod-, ...)
//   a container, cgroupfs:    <64 hex> (containerd, docker: /docker/<id>), crio-<64 hex> (CRI-O)
//   runc driven with a systemd cgroupsPath by a runtime on cgroupfs: one directory
//                             kubepods-besteffort-pod<uid>.slice:cri-containerd:<64 hex>
// Static pods have a 32-hex UID (the hash of their manifest), also taken as is. The runtimes' monitor
// processes (crio-conmon-<id>.scope, libpod-conmon-<id>.scope) belong to the pod but are no container.
// A container below the pod is looked for from the leaf up, so a cgroup nested in a container's (crun's
// <scope>/container, systemd inside a container) is that container's, and the innermost container wins
// when containers nest (kind nodes are docker containers); a pod's own cgroup has no container id even
// when the pod runs inside one.

const UID = '[0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12}|[0-9a-f]{32}';
/** kubepods[-qos]-pod<uid>.slice, with kind's kubelet- (or any) prefix, possibly :runtime:<id> after */
const POD_SLICE = new RegExp(`^(?:[\\w]+-)*kubepods(?:-besteffort|-burstable)?-pod(${UID})\\.slice(?::|$)`);
/** pod<uid> below a kubepods directory (cgroupfs driver) */
const POD_DIR = new RegExp(`^pod(${UID})$`);
/** <prefix>-<64 hex>[.scope] or a bare <64 hex>; the prefix is the runtime's */
const CONTAINER = /^(?:([a-z][a-z0-9-]*)-)?([0-9a-f]{64})(?:\.scope)?$/;
/** <slice>:<prefix>:<64 hex> (a systemd cgroupsPath written as a directory name) */
const COLON_FORM = /:[a-z][a-z0-9-]*:([0-9a-f]{64})$/;

export interface CgroupIdentity {
  /** the pod's UID as the API server has it (dashes), when the path is a pod's or a container's in one */
  podUid?: string;
  /** the container's 64-hex id, when the path is a container's (or below one) */
  containerId?: string;
}

function podUidOf(segment: string, parents: string[]): string | undefined {
  const slice = POD_SLICE.exec(segment);
  if (slice) return slice[1].replaceAll('_', '-');
  const dir = POD_DIR.exec(segment);
  if (dir && parents.includes('kubepods')) return dir[1].replaceAll('_', '-');
  return undefined;
}

function containerIdOf(segment: string): string | undefined {
  const colon = COLON_FORM.exec(segment);
  if (colon) return colon[1];
  const m = CONTAINER.exec(segment);
  if (!m || m[1]?.endsWith('conmon')) return undefined;
  return m[2];
}

/** pod UID and container id named by a cgroup path (relative to the hierarchy's root); {} when none */
export function identityFromCgroupPath(cgroupPath: string): CgroupIdentity {
  const segments = cgroupPath.split('/').filter((s) => s !== '');
  let pod = -1;
  let podUid: string | undefined;
  for (let i = segments.length - 1; i >= 0 && pod < 0; i--) {
    podUid = podUidOf(segments[i], segments.slice(0, i));
    if (podUid) pod = i;
  }
  const out: CgroupIdentity = {};
  if (podUid) out.podUid = podUid;
  for (let i = segments.length - 1; i >= Math.max(pod, 0); i--) {
    const id = containerIdOf(segments[i]);
    if (id) {
      out.containerId = id;
      break;
    }
  }
  return out;
}
