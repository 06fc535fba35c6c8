// fileId(path): name_to_handle_at(AT_HANDLE_FID) as "<handle type>:<hex bytes>", undefined where the kernel
// or the file system encodes none. On overlayfs (6.6+) the handle names the real file in its layer (the
// layer's uuid and its own handle), the inode uprobes attach to, the same through every overlay mount.
#include <fcntl.h>

#include <cstddef>
#include <cstdio>
#include <string>

#include "file_id.h"

#ifndef AT_HANDLE_FID
#define AT_HANDLE_FID 0x200  // Linux 6.5 uapi; older headers lack it
#endif

namespace kotel {

Napi::Value FileId(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString()) throw Napi::TypeError::New(env, "fileId(path: string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  union {
    struct file_handle fh;
    char bytes[sizeof(struct file_handle) + MAX_HANDLE_SZ];
  } h;
  h.fh.handle_bytes = MAX_HANDLE_SZ;
  int mountId = 0;
  if (name_to_handle_at(AT_FDCWD, path.c_str(), &h.fh, &mountId, AT_HANDLE_FID | AT_SYMLINK_FOLLOW) != 0)
    return env.Undefined();
  std::string out = std::to_string(h.fh.handle_type) + ":";
  // f_handle is a zero-length array: read the handle from the union's bytes
  const unsigned char* handle =
      reinterpret_cast<const unsigned char*>(h.bytes) + offsetof(struct file_handle, f_handle);
  char hex[3];
  for (unsigned i = 0; i < h.fh.handle_bytes; i++) {
    snprintf(hex, sizeof hex, "%02x", handle[i]);
    out += hex;
  }
  return Napi::String::New(env, out);
}

}  // namespace kotel
