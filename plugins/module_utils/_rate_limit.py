# Copyright (c) 2026 keyguard.aws contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This module_utils is PRIVATE to the keyguard.aws collection. It may change without notice.

"""A client-side cap on a client's request rate, for accounts whose IAM rate limit other tools share.

Every HTTP request the client sends (retries included) waits for its slot: requests are spaced at least
1/rate seconds apart, across all the threads using the client. botocore's ``adaptive`` retry mode also slows
down, but only once throttled; this never goes over the rate in the first place.
"""

from __future__ import annotations

import threading
import time
import typing as t


class RequestSpacer:
    def __init__(self, calls_per_second: float) -> None:
        self.interval = 1.0 / calls_per_second
        self.next_slot = 0.0
        self.lock = threading.Lock()

    def wait(self, **_kwargs: t.Any) -> None:
        """botocore ``before-send`` handler; returns None, so the request is sent as usual."""
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)
