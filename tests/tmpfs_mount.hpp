#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace shelfsync::tests {

/// A small tmpfs mounted on a directory for as long as this lives, to run
/// the engine on a disk that fills up, frees, or turns read-only. Mounting
/// needs root: `ok()` says whether it worked and `why()` why not, so that a
/// test can skip with that reason. Unmounted (lazily) on destruction, also
/// when a test fails.
class tmpfs_mount {
 public:
  tmpfs_mount(std::string dir, size_t megabytes) : dir_(std::move(dir)) {
    if (::geteuid() != 0) {
      why_ = "needs root to mount a tmpfs";
      return;
    }
    std::filesystem::create_directories(dir_);
    auto opts = "size=" + std::to_string(megabytes) + "m";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) != 0) {
      why_ = "cannot mount a tmpfs on " + dir_ + ": " + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }

  ~tmpfs_mount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }

  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;

  bool ok() const { return mounted_; }
  const std::string& why() const { return why_; }
  const std::string& dir() const { return dir_; }

  /// Fills the file system with a filler file, leaving `leave` bytes free.
  void fill(size_t leave = 0) {
    auto path = dir_ + "/filler";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) return;
    std::vector<char> chunk(1 << 16, 'f');
    for (;;) {
      auto n = ::write(fd, chunk.data(), chunk.size());
      if (n <= 0) break;
    }
    // Smaller writes use up the last partial chunk.
    for (;;) {
      auto n = ::write(fd, chunk.data(), 512);
      if (n <= 0) break;
    }
    if (leave > 0) {
      auto size = ::lseek(fd, 0, SEEK_END);
      auto keep = size > static_cast<off_t>(leave)
                      ? size - static_cast<off_t>(leave)
                      : 0;
      static_cast<void>(::ftruncate(fd, keep));
    }
    ::close(fd);
  }

  /// Removes the filler: the space is back.
  void free_space() { std::filesystem::remove(dir_ + "/filler"); }

  /// Remounts read-only (true) or writable (false); false when that fails.
  bool set_read_only(bool ro) {
    unsigned long flags = MS_REMOUNT | (ro ? MS_RDONLY : 0);
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", flags, nullptr) == 0;
  }

 private:
  std::string dir_;
  std::string why_;
  bool mounted_ = false;
};

} // namespace shelfsync::tests
