"""Cloud Run's rules for a service's CPU, memory and concurrency, checked before deploying.

2nd gen functions are Cloud Run services, and these combinations are refused only once the build
has run. From https://cloud.google.com/run/docs/configuring/services/cpu and
https://cloud.google.com/run/docs/configuring/services/memory-limits :
- CPU is a fraction from 0.08 to 1 (in steps of 0.001), or 1, 2, 4, 6 or 8;
- memory per CPU: 1 vCPU 128 MiB to 4 GiB, 2 vCPU to 8 GiB, 4 vCPU 2 to 16 GiB, 6 vCPU 4 to
  24 GiB, 8 vCPU 4 to 32 GiB;
- below 1 vCPU: more than 512 MiB needs at least 0.5 vCPU, more than 1 GiB needs 1 vCPU, and
  concurrency must be 1;
- concurrency is at most 1,000.
"""

import re
from fractions import Fraction

WHOLE_CPUS = {1: (128, 4096), 2: (128, 8192), 4: (2048, 16384), 6: (4096, 24576),
              8: (4096, 32768)}  # vCPUs -> (min, max) memory in MiB
MAX_CONCURRENCY = 1000
_CPU = re.compile(r"[0-9]+(\.[0-9]{1,3})?")
_MEMORY = re.compile(r"([1-9][0-9]*)(Mi|Gi|M|G)")
_MIB_PER_UNIT = {"Mi": Fraction(1), "Gi": Fraction(1024), "M": Fraction(10**6, 2**20),
                 "G": Fraction(10**9, 2**20)}


def memory_mib(memory: str) -> Fraction | None:
    """"512Mi" -> 512; None if it is not a number with Mi, Gi, M or G."""
    match = _MEMORY.fullmatch(memory)
    return int(match.group(1)) * _MIB_PER_UNIT[match.group(2)] if match else None


def problem(cpu: str, memory: str, concurrency: int) -> str | None:
    """What Cloud Run would refuse in this combination, naming the key; None if nothing."""
    mib = memory_mib(memory)
    if mib is None:
        return 'okta-event-hook:memory must look like "512Mi" or "1Gi"'
    if not _CPU.fullmatch(cpu):
        return 'okta-event-hook:cpu must be a number of vCPUs, e.g. "1" or "0.5"'
    vcpus = Fraction(cpu)
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        return f"okta-event-hook:concurrency must be from 1 to {MAX_CONCURRENCY}"
    if vcpus >= 1:
        if vcpus.denominator != 1 or int(vcpus) not in WHOLE_CPUS:
            return "okta-event-hook:cpu above 1 must be 2, 4, 6 or 8"
        low, high = WHOLE_CPUS[int(vcpus)]
        if not low <= mib <= high:
            return (f"okta-event-hook:memory must be from {low} MiB to {high // 1024} GiB with "
                    f"{cpu} vCPU (Cloud Run's limits)")
        return None
    if vcpus < Fraction(8, 100):
        return "okta-event-hook:cpu must be at least 0.08"
    if concurrency > 1:
        return ("Cloud Run serves more than one request at a time only with okta-event-hook:cpu "
                "of 1 or more; raise cpu or set concurrency to 1")
    if mib > 1024 or (mib > 512 and vcpus < Fraction(1, 2)):
        return (f"okta-event-hook:memory {memory} needs more okta-event-hook:cpu: more than "
                "512 MiB needs 0.5 vCPU, more than 1 GiB needs 1 vCPU")
    if mib < 128:
        return "okta-event-hook:memory must be at least 128Mi"
    return None
