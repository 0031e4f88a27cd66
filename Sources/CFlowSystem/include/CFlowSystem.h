#ifndef CFLOWSYSTEM_H
#define CFLOWSYSTEM_H

#include <spawn.h>

/// glibc's posix_spawn_file_actions_addchdir_np, which Swift's Glibc module does not expose.
int flow_spawn_file_actions_addchdir(posix_spawn_file_actions_t *actions, const char *path);

/// glibc's posix_spawn_file_actions_addclosefrom_np (glibc 2.34+).
int flow_spawn_file_actions_addclosefrom(posix_spawn_file_actions_t *actions, int from);

#endif
