// notify(socket, state): sd_notify(3) without libsystemd. The state ("READY=1\nSTATUS=...") goes as one
// datagram to the AF_UNIX socket systemd names in $NOTIFY_SOCKET: a path, or "@name" for the abstract
// namespace (the '@' becomes a leading NUL). systemd learns the sender's pid from SO_PASSCRED on its side.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>

#include "common.h"
#include "notify.h"

namespace kotel {

Napi::Value Notify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString())
    throw Napi::TypeError::New(env, "notify(socket: string, state: string)");
  std::string socketName = info[0].As<Napi::String>().Utf8Value();
  std::string state = info[1].As<Napi::String>().Utf8Value();
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socketName.empty() || socketName.size() >= sizeof addr.sun_path || (socketName[0] != '/' && socketName[0] != '@'))
    throw Napi::TypeError::New(env, "notify: socket must be an absolute path or @name shorter than 108 bytes");
  memcpy(addr.sun_path, socketName.data(), socketName.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + socketName.size();
  if (socketName[0] == '@')
    addr.sun_path[0] = '\0';  // abstract: the name is exactly the bytes after the NUL, no terminator
  else
    len += 1;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) ThrowBpfError(env, "socket", errno, "notify: socket(AF_UNIX)");
  // never block the event loop: a receiver whose queue is full loses this message (the caller logs it)
  ssize_t sent =
      sendto(fd, state.data(), state.size(), MSG_NOSIGNAL | MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&addr), len);
  int err = errno;
  close(fd);
  if (sent < 0) ThrowBpfError(env, "sendto", err, "notify: sendto " + socketName);
  return env.Undefined();
}

}  // namespace kotel
