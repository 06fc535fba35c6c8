// Resolves the default-version (@@) definition of a dynamic symbol to a file offset for uprobes.
// libbpf 1.1 refuses versioned names and may pick a compat (@) twin; we walk .dynsym ourselves, skip
// entries whose .gnu.version has the hidden bit (0x8000, the compat '@' versions), and turn st_value into
// a file offset with the PT_LOAD program headers. Falls back to .symtab for unexported functions.
#include "elf_symbol.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <string>

#include "common.h"

namespace kotel {

namespace {

struct ElfFile {
  int fd = -1;
  Elf* elf = nullptr;
  ~ElfFile() {
    if (elf) elf_end(elf);
    if (fd >= 0) close(fd);
  }
};

struct Found {
  bool ok = false;
  GElf_Addr value = 0;
  std::string version;
};

std::map<int, std::string> VersionNames(Elf* elf, Elf_Scn* verdef) {
  std::map<int, std::string> names;
  if (!verdef) return names;
  GElf_Shdr sh;
  gelf_getshdr(verdef, &sh);
  Elf_Data* d = elf_getdata(verdef, nullptr);
  if (!d) return names;
  size_t off = 0;
  for (size_t i = 0; i < sh.sh_info; i++) {
    GElf_Verdef vd;
    if (!gelf_getverdef(d, (int)off, &vd)) break;
    GElf_Verdaux vda;
    if (vd.vd_cnt > 0 && gelf_getverdaux(d, (int)(off + vd.vd_aux), &vda)) {
      const char* n = elf_strptr(elf, sh.sh_link, vda.vda_name);
      if (n) names[vd.vd_ndx] = n;
    }
    if (!vd.vd_next) break;
    off += vd.vd_next;
  }
  return names;
}

Found Lookup(Elf* elf, Elf_Scn* symtab, Elf_Scn* versym, const std::map<int, std::string>& vnames,
             const std::string& name) {
  Found f;
  GElf_Shdr sh;
  gelf_getshdr(symtab, &sh);
  Elf_Data* d = elf_getdata(symtab, nullptr);
  Elf_Data* vd = versym ? elf_getdata(versym, nullptr) : nullptr;
  if (!d || !sh.sh_entsize) return f;
  size_t n = sh.sh_size / sh.sh_entsize;
  for (size_t i = 0; i < n; i++) {
    GElf_Sym sym;
    if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF) continue;
    const char* sn = elf_strptr(elf, sh.sh_link, sym.st_name);
    if (!sn || name != sn) continue;
    std::string ver;
    if (vd) {
      GElf_Versym vs;
      if (gelf_getversym(vd, (int)i, &vs)) {
        if (vs & 0x8000) continue;  // hidden: a compat '@' version, never the default
        auto it = vnames.find(vs & 0x7fff);
        // indices 0 (local) and 1 (global) are unversioned; the base verdef names the file itself
        if (it != vnames.end() && (vs & 0x7fff) > 1) ver = it->second;
      }
    }
    f.ok = true;
    f.value = sym.st_value;
    f.version = ver;
    return f;
  }
  return f;
}

}  // namespace

Napi::Value ResolveSymbol(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsString() || !info[1].IsString())
    throw Napi::TypeError::New(env, "resolveSymbol(binary: string, name: string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  std::string name = info[1].As<Napi::String>().Utf8Value();
  std::string what = "resolveSymbol(" + path + ", " + name + ")";
  ElfFile ef;
  ef.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ef.fd < 0) ThrowBpfError(env, "resolveSymbol", errno, what, "cannot open " + path);
  elf_version(EV_CURRENT);
  ef.elf = elf_begin(ef.fd, ELF_C_READ, nullptr);
  if (!ef.elf || elf_kind(ef.elf) != ELF_K_ELF)
    ThrowBpfError(env, "resolveSymbol", ENOEXEC, what, path + " is not an ELF file");

  Elf_Scn *dynsym = nullptr, *symtab = nullptr, *versym = nullptr, *verdef = nullptr;
  for (Elf_Scn* s = elf_nextscn(ef.elf, nullptr); s; s = elf_nextscn(ef.elf, s)) {
    GElf_Shdr sh;
    if (!gelf_getshdr(s, &sh)) continue;
    switch (sh.sh_type) {
      case SHT_DYNSYM:
        dynsym = s;
        break;
      case SHT_SYMTAB:
        symtab = s;
        break;
      case SHT_GNU_versym:
        versym = s;
        break;
      case SHT_GNU_verdef:
        verdef = s;
        break;
      default:
        break;
    }
  }
  Found f;
  if (dynsym) f = Lookup(ef.elf, dynsym, versym, VersionNames(ef.elf, verdef), name);
  if (!f.ok && symtab) f = Lookup(ef.elf, symtab, nullptr, {}, name);
  if (!f.ok)
    ThrowBpfError(env, "resolveSymbol", ENOENT, what, "no defined default-version symbol '" + name + "' in " + path);

  size_t nph = 0;
  elf_getphdrnum(ef.elf, &nph);
  for (size_t i = 0; i < nph; i++) {
    GElf_Phdr ph;
    if (!gelf_getphdr(ef.elf, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
    if (f.value >= ph.p_vaddr && f.value < ph.p_vaddr + ph.p_memsz) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("offset", (double)(f.value - ph.p_vaddr + ph.p_offset));
      o.Set("version", f.version);
      return o;
    }
  }
  ThrowBpfError(env, "resolveSymbol", ENOENT, what, "symbol '" + name + "' is in no PT_LOAD segment of " + path);
}

}  // namespace kotel
