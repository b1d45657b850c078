/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* LD_PRELOAD library for tests/integration/preload.sh: interposes getpid. */
#include <unistd.h>

pid_t getpid(void)
{
	return 4242;
}
