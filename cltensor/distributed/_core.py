"""Process groups on MPI (mpi4py): initialisation, groups, ReduceOp, Work handles and the deadline-polled wait.

Every collective first exchanges a small header (a digest of operation, dtype, element count, shape digest,
root: in shared memory, point to point or with a non-blocking all-reduce, see exchange_header), so ranks that call
different collectives or pass mismatched tensors get an error instead of a hang; every MPI request is non-blocking
and polled until the group's timeout, after which the call raises DistBackendError on that rank. A group whose
collective timed out or failed half way should not be used again (its ranks disagree on what was sent): destroy
it, as with torch.distributed."""
import mmap
import os
import platform
import tempfile
import time
import zlib
from datetime import timedelta
from functools import partial
from time import time_ns

import numpy as np

from .. import _config as cfg
from .. import futures as _futures

__all__ = ["Backend", "ReduceOp", "ProcessGroup", "GroupMember", "group", "Work", "DistError", "DistBackendError",
           "is_available", "is_mpi_available", "is_initialized", "init_process_group", "destroy_process_group",
           "get_rank", "get_world_size", "get_backend", "new_group", "get_global_rank", "get_group_rank",
           "get_process_group_ranks", "default_pg_timeout"]

default_pg_timeout = timedelta(minutes=30)
HEADER_SHM_MAX = 64       # groups up to this size on one machine exchange headers in shared memory,
HEADER_P2P_MAX = 8        # others up to this size point to point (see exchange_header)

_MPI = None


def _mpi():
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI          # the optional transport (setup.cfg extra "distributed")
        except ImportError as e:
            raise RuntimeError("cltensor.distributed needs mpi4py and an MPI library: pip install mpi4py "
                               "(Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev)") from e
        _MPI = MPI
    return _MPI


def is_available():
    """True: the distributed package is part of cltensor (the MPI transport itself: is_mpi_available())."""
    return True


def is_mpi_available():
    try:
        _mpi()
    except RuntimeError:
        return False
    return True


class DistError(RuntimeError):
    """Errors of the distributed package (as torch.distributed.DistError)."""


class DistBackendError(DistError):
    """A collective failed: mismatched calls or tensors between ranks, or a timeout."""


class Backend(str):
    """Backend names. 'mpi' is the transport; 'gloo' and 'nccl' are accepted as names of the same MPI backend so
    that scripts written for PyTorch run unchanged (there is no separate gloo or NCCL implementation)."""
    UNDEFINED = "undefined"
    MPI = "mpi"
    GLOO = "gloo"
    NCCL = "nccl"
    backend_list = ["mpi", "gloo", "nccl"]

    def __new__(cls, name):
        if not isinstance(name, str):
            raise ValueError(f"Backend constructor parameter must be string-ish, but got: {type(name)}")
        value = name.lower()
        if value not in cls.backend_list:
            raise ValueError(f"Invalid backend: '{name}'")
        return str.__new__(cls, value)


class _RedOp:
    __slots__ = ("name", "value")

    def __init__(self, name, value):
        self.name, self.value = name, value

    def __repr__(self):
        return f"<RedOpType.{self.name}: {self.value}>"

    def __reduce__(self):
        return (getattr, (ReduceOp, self.name))


class ReduceOp:
    """Reduction operations of all_reduce, reduce, reduce_scatter. AVG divides the sum by the group size
    (integer tensors: truncated toward zero). On bool tensors SUM/MAX/BOR are logical or, PRODUCT/MIN/BAND
    logical and, BXOR exclusive or. Complex tensors support SUM and AVG only (as PyTorch)."""
    SUM = _RedOp("SUM", 0)
    AVG = _RedOp("AVG", 1)
    PRODUCT = _RedOp("PRODUCT", 2)
    MIN = _RedOp("MIN", 3)
    MAX = _RedOp("MAX", 4)
    BAND = _RedOp("BAND", 5)
    BOR = _RedOp("BOR", 6)
    BXOR = _RedOp("BXOR", 7)
    RedOpType = None


ReduceOp.RedOpType = ReduceOp
_OPS = [ReduceOp.SUM, ReduceOp.AVG, ReduceOp.PRODUCT, ReduceOp.MIN, ReduceOp.MAX, ReduceOp.BAND, ReduceOp.BOR,
        ReduceOp.BXOR]


class ProcessGroup:
    """A set of ranks with its own MPI communicator."""

    def __init__(self, comm, ranks, timeout, backend):
        self.comm = comm
        self.ranks = list(ranks)           # global ranks, in group-rank order
        self.timeout = timeout
        self.timeout_s = timeout.total_seconds()
        self.header_settled = False        # see exchange_header
        # The header exchange (see exchange_header), built once: memoryviews read and write its int64 words with
        # less Python than numpy item access.
        MPI = _mpi()
        self._settle_s = self.timeout_s - min(self.timeout_s / 2, 60.0)   # see header_result
        n, me = comm.Get_size(), comm.Get_rank()
        self._hdr_reqs = self._hdr_map = self._hdr_words = None
        self._hdr_pending = False
        self._hdr_comm = None
        shm = _header_memory(comm) if 1 < n <= HEADER_SHM_MAX else None
        if shm is not None:
            # ranks on one machine: a shared page, two slots per rank (alternate calls; a rank runs at most one
            # header ahead of the slowest), each slot a cache line: digest, posting time, call number (written
            # last: a peer that reads the call number reads the words before it)
            self._hdr_map = shm
            self._hdr_words = memoryview(shm).cast("q")
            self._hdr_k = self._hdr_done = 0         # calls posted, calls whose exchange completed
            self._hdr_own = (me * 16, me * 16 + 8)
            self._hdr_peers = tuple(tuple(p * 16 + s * 8 for p in range(n) if p != me) for s in (0, 1))
            self._hdr_progress = partial(comm.Iprobe, MPI.ANY_SOURCE, MPI.ANY_TAG)
        elif 1 < n <= HEADER_P2P_MAX:
            # small groups on several machines: persistent sends of this rank's three words to every other rank
            # and receives of theirs, on a communicator of their own (no user message or collective can match them)
            self._hdr_comm = comm.Dup()
            rows = self._hdr_rows = np.zeros((n, 3), np.int64)
            reqs = []
            for p in range(n):
                if p != me:
                    reqs.append(self._hdr_comm.Send_init([rows[me], MPI.INT64_T], p, 0))
                    reqs.append(self._hdr_comm.Recv_init([rows[p], MPI.INT64_T], p, 0))
            self._hdr_reqs = reqs
            self._hdr_mv = memoryview(rows[me])
            self._hdr_all = memoryview(rows.reshape(-1))
        else:
            # larger groups: one non-blocking all-reduce (MAX) of the digest, its negation and the negated time
            self._hdr_buf = np.empty(3, np.int64)
            self._hdr_mv = self._hdr_all = memoryview(self._hdr_buf)
            self._hdr_post = partial(comm.Iallreduce, MPI.IN_PLACE, [self._hdr_buf, MPI.INT64_T], MPI.MAX)
        self.backend = backend
        self.checks = cfg.dist_checks()
        self._rank = comm.Get_rank()
        self._size = comm.Get_size()

    def rank(self):
        return self._rank

    def size(self):
        return self._size

    def name(self):
        return self.backend.upper()

    def __repr__(self):
        return f"ProcessGroup(backend={self.backend!r}, rank={self._rank}, size={self._size})"


class GroupMember:
    WORLD = None
    NON_GROUP_MEMBER = -100


class group:
    WORLD = None


class _State:
    world = None
    groups = []


_FAST_PLANS = {}       # (shape, dtype, op, group) -> the plan of a synchronous all_reduce (_collectives._FastPlan)


def is_initialized():
    return _State.world is not None


def _default():
    if _State.world is None:
        raise ValueError("Default process group has not been initialized, please make sure to call "
                         "init_process_group.")
    return _State.world


def _group(g):
    """The ProcessGroup a `group=` argument names; None when this rank is not a member."""
    if g is None or g is GroupMember.WORLD:
        return _default()
    if g is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(g, ProcessGroup):
        raise TypeError(f"expected a ProcessGroup, got {type(g).__name__}")
    _default()
    return g


def _env_int(name):
    v = os.environ.get(name)
    return int(v) if v not in (None, "") else None


def init_process_group(backend=None, init_method=None, timeout=None, world_size=-1, rank=-1, store=None,
                       group_name="", pg_options=None, device_id=None):
    """Initialise the default group over MPI's COMM_WORLD. Launch with mpirun/mpiexec or
    `python -m cltensor.distributed.run`; rank and size come from MPI. RANK and WORLD_SIZE environment
    variables (torchrun's) and explicit rank/world_size arguments are checked against MPI's. init_method
    (env://, tcp://, file://) and store are accepted and unused: MPI connects the processes."""
    if _State.world is not None:
        raise ValueError("trying to initialize the default process group twice!")
    be = Backend(backend if backend is not None else "mpi")
    if timeout is None:
        timeout = default_pg_timeout
    if not isinstance(timeout, timedelta):
        raise TypeError(f"Expected timeout argument to be of typedatetime.timedelta, got {type(timeout)}")
    MPI = _mpi()
    comm = MPI.COMM_WORLD
    mrank, msize = comm.Get_rank(), comm.Get_size()
    for what, given, actual in (("rank", rank, mrank), ("world_size", world_size, msize),
                                ("RANK", _env_int("RANK"), mrank), ("WORLD_SIZE", _env_int("WORLD_SIZE"), msize)):
        if given is not None and given != -1 and given != actual:
            raise ValueError(f"{what}={given} does not match MPI's {'rank' if 'ank' in what.lower() else 'size'} "
                             f"{actual} (launch the processes with mpirun -np N or python -m "
                             "cltensor.distributed.run --nproc-per-node N)")
    pg = ProcessGroup(comm, range(msize), timeout, be)
    _State.world = pg
    GroupMember.WORLD = group.WORLD = pg
    return None


def destroy_process_group(group=None):
    """Free a group's communicator; without an argument (or with group.WORLD) all groups and the default one."""
    _FAST_PLANS.clear()
    if group is None or group is GroupMember.WORLD:
        _default()
        for g in _State.groups:
            try:
                g.comm.Free()
            except Exception:
                pass
            _free_header(g)
        _free_header(_State.world)
        _State.groups = []
        _State.world = None
        GroupMember.WORLD = globals()["group"].WORLD = None
        return
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    if group in _State.groups:
        _State.groups.remove(group)
        group.comm.Free()
        _free_header(group)


def _header_memory(comm):
    """A zeroed shared mapping of 16 int64 words per rank of `comm`, or None (on every rank alike) when the ranks
    are not all on this machine, the processor may reorder stores as seen by other cores (not x86), or the
    mapping fails. Rank 0 creates the file (in /dev/shm where it exists), every rank maps it, then rank 0 removes
    its name: nothing is left behind, and no collective call is needed to free it."""
    MPI = _mpi()
    ok = platform.machine().lower() in ("x86_64", "amd64")
    try:
        node = comm.Split_type(MPI.COMM_TYPE_SHARED)
        ok = ok and node.Get_size() == comm.Get_size()
        node.Free()
    except (AttributeError, NotImplementedError, MPI.Exception):       # an MPI without MPI-3's shared split
        ok = False
    if not comm.allreduce(ok, op=MPI.LAND):
        return None
    size = 128 * comm.Get_size()
    path = mm = None
    if comm.Get_rank() == 0:
        try:
            shm_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
            fd, path = tempfile.mkstemp(prefix="cltensor-dist-", dir=shm_dir)
            os.ftruncate(fd, size)
            os.close(fd)
        except OSError:
            path = None
    path = comm.bcast(path, root=0)
    if path is not None:
        try:
            fd = os.open(path, os.O_RDWR)
            try:
                mm = mmap.mmap(fd, size)
            finally:
                os.close(fd)
        except (OSError, ValueError):
            mm = None
    ok = comm.allreduce(mm is not None, op=MPI.LAND)
    if comm.Get_rank() == 0 and path is not None:
        try:
            os.unlink(path)
        except OSError:
            pass
    if not ok and mm is not None:
        mm.close()
    return mm if ok else None


def _free_header(g):
    """Release the persistent header requests and their communicator (pending ones after a timeout included), or
    the shared header memory."""
    if g._hdr_map is not None:
        g._hdr_words.release()
        try:
            g._hdr_map.close()
        except BufferError:
            pass
        g._hdr_map = g._hdr_words = None
    elif g._hdr_comm is None:
        return
    for r in g._hdr_reqs or ():
        try:
            r.Free()
        except Exception:
            pass
    try:
        if g._hdr_comm is not None:
            g._hdr_comm.Free()
    except Exception:
        pass
    # a later call on the destroyed group fails in MPI as it does for groups whose headers are all-reduced
    MPI = _mpi()
    g._hdr_comm = g._hdr_reqs = None
    g._hdr_buf = np.empty(3, np.int64)
    g._hdr_mv = g._hdr_all = memoryview(g._hdr_buf)
    g._hdr_post = partial(g.comm.Iallreduce, MPI.IN_PLACE, [g._hdr_buf, MPI.INT64_T], MPI.MAX)


def new_group(ranks=None, timeout=None, backend=None, pg_options=None, use_local_synchronization=False,
              group_desc=None, device_id=None):
    """A sub-group of the given global ranks (every rank of the default group must call it, members or not).
    Non-members get GroupMember.NON_GROUP_MEMBER; collectives on it return None for them."""
    world = _default()
    MPI = _mpi()
    if ranks is None:
        ranks = list(range(world.size()))
    ranks = sorted(int(r) for r in ranks)
    if len(set(ranks)) != len(ranks):
        raise ValueError("ranks must be unique")
    for r in ranks:
        if r < 0 or r >= world.size():
            raise ValueError("The new group's rank should be within the world_size set by init_process_group")
    me = world.rank()
    color = 0 if me in ranks else MPI.UNDEFINED
    comm = world.comm.Split(color, ranks.index(me) if me in ranks else 0)
    if comm == MPI.COMM_NULL:
        return GroupMember.NON_GROUP_MEMBER
    pg = ProcessGroup(comm, ranks, timeout if timeout is not None else world.timeout,
                      Backend(backend) if backend is not None else world.backend)
    _State.groups.append(pg)
    return pg


def get_rank(group=None):
    """This process's rank in the group (-1 when not a member)."""
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _group(group).rank()


def get_world_size(group=None):
    if group is GroupMember.NON_GROUP_MEMBER:
        return -1
    return _group(group).size()


def get_backend(group=None):
    g = _group(group)
    if g is None:
        raise ValueError("Invalid process group specified")
    return g.backend


def get_process_group_ranks(group):
    return list(_group(group).ranks)


def get_global_rank(group, group_rank):
    g = _group(group)
    if not 0 <= group_rank < g.size():
        raise ValueError(f"Group rank {group_rank} is not part of group {g}")
    return g.ranks[group_rank]


def get_group_rank(group, global_rank):
    g = _group(group)
    try:
        return g.ranks.index(global_rank)
    except ValueError:
        raise ValueError(f"Global rank {global_rank} is not part of group {g}") from None


def group_rank_of(g, global_rank, what):
    try:
        return g.ranks.index(int(global_rank))
    except ValueError:
        raise ValueError(f"{what} rank {global_rank} is not part of the group (ranks {g.ranks})") from None


# ---------------------------------------------------------------- waiting with a deadline

def wait_requests(reqs, g, what, deadline=None, statuses=None):
    """Poll MPI requests until all complete; raise DistBackendError at the group's deadline."""
    MPI = _mpi()
    if not reqs:
        return
    st = statuses if statuses is not None else None
    if MPI.Request.Testall(reqs, st):
        return
    now = time.monotonic()
    if deadline is None:
        deadline = now + g.timeout.total_seconds()
    spin_until = now + 0.002            # spin first (latency), then yield the core (oversubscribed ranks)
    spins = 0
    while not MPI.Request.Testall(reqs, st):
        spins += 1
        if spins & 63 == 0:
            _pace(g, what, deadline, spin_until)


def _pace(g, what, deadline, spin_until):
    """Every 64th poll of a wait: raise at the deadline; once spinning has lasted past spin_until, yield the core
    (to a rank sharing it when ranks oversubscribe the cores)."""
    now = time.monotonic()
    if now > deadline:
        raise _timed_out(g, what)
    if now > spin_until:
        time.sleep(0 if now < spin_until + 0.1 else 5e-5)


def _wait_words(g, what, k, peers):
    """Wait until the peers' slots (word offsets `peers`) of the shared header memory hold call number k, driving
    MPI's progress meanwhile (a peer may be waiting for this rank's part of an earlier non-blocking operation);
    polled as wait_requests polls, and raising as it does at the group's deadline."""
    w, progress = g._hdr_words, g._hdr_progress
    now = time.monotonic()
    deadline = now + g.timeout_s
    spin_until = now + 0.002
    spins = 0
    while True:
        for i in peers:
            if w[i + 2] != k:
                break
        else:
            return
        progress()
        spins += 1
        if spins & 63 == 0:
            _pace(g, what, deadline, spin_until)


def _timed_out(g, what):
    return DistBackendError(
        f"[Rank {g.ranks[g.rank()]}] {what} timed out after {g.timeout.total_seconds():g} s (timeout "
        "of the process group): another rank did not reach the matching call. The group cannot be used again.")


class Work:
    """Handle of an asynchronous operation (async_op=True): wait() blocks until it completed (raising at the
    group's timeout), is_completed() polls without blocking. Received data is in the tensors after wait()."""

    def __init__(self, g, reqs, what, finish=None, result=None):
        self._g = g
        self._reqs = list(reqs)
        self._what = what
        self._finish = finish
        self._done = False
        self._result = result if result is not None else []
        self._deadline = time.monotonic() + g.timeout.total_seconds() if g is not None else None

    def _complete(self):
        self._done = True
        self._reqs = []
        f, self._finish = self._finish, None
        if f is not None:
            f()

    def is_completed(self):
        if self._done:
            return True
        MPI = _mpi()
        if not self._reqs or MPI.Request.Testall(self._reqs):
            self._complete()
        return self._done

    def wait(self, timeout=None):
        if not self._done:
            dl = self._deadline
            if timeout is not None:
                dl = time.monotonic() + (timeout.total_seconds() if isinstance(timeout, timedelta) else timeout)
            wait_requests(self._reqs, self._g, self._what, dl)
            self._complete()
        return True

    def is_success(self):
        return self._done

    def result(self):
        self.wait()
        return self._result

    def exception(self):
        return None

    def synchronize(self):
        self.wait()

    def get_future(self):
        """A cltensor.futures.Future completed with this operation's result (the list of its tensors) when the
        operation completes (wait() on the future waits for it)."""
        return _futures._from_operation(self.wait, self.is_completed, self._result)


class _DoneWork(Work):
    def __init__(self, result=None):
        super().__init__(None, [], "", None, result)
        self._done = True


# ---------------------------------------------------------------- headers: catch mismatched calls

HEADER_LEN = 8
_KINDS = {}


def kind_code(name):
    c = _KINDS.get(name)
    if c is None:
        c = _KINDS[name] = zlib.crc32(name.encode()) & 0x7FFFFFFF
    return c


_DIGESTS = {}


def shape_digest(shape):
    shape = tuple(shape)
    d = _DIGESTS.get(shape)
    if d is None:
        if len(_DIGESTS) > 4096:
            _DIGESTS.clear()
        d = _DIGESTS[shape] = zlib.crc32(repr(shape).encode()) & 0x7FFFFFFF
    return d


def exchange_header(g, what, fields):
    """Compare each rank's header over the group: a 62-bit digest of the fields and the posting time. Groups of up
    to HEADER_SHM_MAX ranks on one x86 machine write them into a shared page (two slots per rank, used
    alternately: a rank runs at most one header ahead of the slowest; the call number is written last and read
    first, and x86 keeps stores and loads in program order as other cores see them). Other groups of up to
    HEADER_P2P_MAX ranks send three words (digest, its negation, negated time) to every other rank (persistent
    point-to-point requests on the group's own header communicator); larger groups all-reduce them (MAX: every
    rank's largest and smallest digest and the earliest posting time) in one non-blocking collective.
    Returns _SAME when every rank sent the same digest; otherwise the (size, HEADER_LEN) array of every rank's
    fields (a second, all-gather round that only mismatched calls pay). The first field is the operation's code:
    ranks that called different operations raise here. Returns None when the checks are off
    (CLTENSOR_DIST_CHECKS=0 at init_process_group): then a mismatch surfaces only as a timeout.

    Sets `g.header_settled`: True when this rank saw the exchange complete well before any rank's deadline for it
    (the earliest posting time + the group's timeout - a margin for delivery and clock differences). Then every
    rank completes the exchange too, and a blocking call may follow without a confirmation round (`commit`).

    The two halves, post_header and header_result, let a caller prepare its buffers while the header travels."""
    if not g.checks:
        return None
    return header_result(g, what, post_header(g, header_digest(fields)), fields)


def header_digest(fields):
    """The 62-bit digest of a header's fields (hash of a tuple of ints: the same in every process)."""
    return hash(tuple(fields)) & _DIGEST_MASK


def post_header(g, x):
    """Start the header exchange of digest x (checks on); returns what header_result waits for."""
    w = g._hdr_words
    if w is not None and g._hdr_done == g._hdr_k:
        k = g._hdr_k = g._hdr_k + 1
        i = g._hdr_own[k & 1]
        w[i] = x
        w[i + 1] = time_ns() // 1000
        w[i + 2] = k                        # last: peers read the call number first
        return k
    if g._hdr_pending or w is not None:
        # the previous exchange never completed (it timed out): the peers' words or requests are still pending
        raise DistBackendError(f"[Rank {g.ranks[g._rank]}] a collective of this group timed out earlier: the group "
                               "cannot be used again (destroy it)")
    h = g._hdr_mv
    h[0] = x
    h[1] = -x
    h[2] = -int(time.time() * 1e6)
    reqs = g._hdr_reqs
    if reqs is None:
        return g._hdr_post()
    g._hdr_pending = True
    _MPI.Prequest.Startall(reqs)
    return reqs


def header_result(g, what, req, fields):
    """Wait for the header posted by post_header (until the group's timeout) and compare: see exchange_header.
    `fields` may be a function returning them (called only on a mismatch)."""
    if type(req) is int:
        w = g._hdr_words
        s = req & 1
        peers = g._hdr_peers[s]
        for i in peers:
            if w[i + 2] != req:
                _wait_words(g, what, req, peers)
                break
        g._hdr_done = req
        i = g._hdr_own[s]
        x, first, same = w[i], w[i + 1], True
        for i in peers:
            if w[i] != x:
                same = False
            if w[i + 1] < first:
                first = w[i + 1]
        first = -first
    elif req is g._hdr_reqs:
        test = _MPI.Request.Testall
        if not test(req):
            for _ in range(64):          # (a few microseconds: the other ranks usually arrive within them)
                if test(req):
                    break
            else:
                wait_requests(req, g, what)
        g._hdr_pending = False
        words = g._hdr_all.tolist()          # every rank's three words, in rank order
        digests = words[0::3]
        same = digests.count(digests[0]) == len(digests)
        first = max(words[2::3])
    else:
        if not req.Test():
            for _ in range(64):
                if req.Test():
                    break
            else:
                wait_requests([req], g, what)
        hi, lo, first = g._hdr_all.tolist()
        same = hi == -lo
    g.header_settled = time.time() < -first * 1e-6 + g._settle_s
    if same:
        return _SAME
    # a mismatch (seen alike by every rank): gather every rank's header for the error message
    MPI = _mpi()
    if callable(fields):
        fields = fields()
    mine = np.zeros(HEADER_LEN, np.int64)
    mine[:len(fields)] = fields
    out = np.empty((g.size(), HEADER_LEN), np.int64)
    wait_requests([g.comm.Iallgather([mine, MPI.INT64_T], [out, MPI.INT64_T])], g, what)
    if (out[:, 0] != out[0, 0]).any():
        names = {v: k for k, v in _KINDS.items()}
        calls = [names.get(int(c), "another operation") for c in out[:, 0]]
        raise DistBackendError(f"{what}: the ranks of the group called different collectives: {calls}")
    return out


_DIGEST_MASK = (1 << 62) - 1


def commit(g, what):
    """Before a blocking MPI call that follows a header exchange: unless the exchange settled (see
    exchange_header), a second round in which every rank confirms it passed the header, so that no rank blocks in
    MPI while another gave up at its deadline."""
    if not g.header_settled:
        wait_requests([g.comm.Ibarrier()], g, what)


_SAME = object()       # every rank sent the same header


def check_same(g, what, hdr, cols, labels):
    """Raise (on every rank) when the given header columns differ between ranks."""
    if hdr is None or hdr is _SAME:
        return
    for c, lab in zip(cols, labels):
        if (hdr[:, c] != hdr[0, c]).any():
            raise DistBackendError(f"{what}: mismatched {lab} between ranks: {hdr[:, c].tolist()}")


def env_rank_info():
    """(rank, world size, local rank) from the launcher's environment variables, when set."""
    return _env_int("RANK"), _env_int("WORLD_SIZE"), _env_int("LOCAL_RANK")
