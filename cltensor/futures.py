"""cltensor.futures: torch.futures' Future (a value that becomes available later), collect_all and wait_all.

A Future completes when `set_result` (or `set_exception`) is called, or, for the futures cltensor makes itself
(`Work.get_future()` of an asynchronous collective), when the operation behind it completes: `wait()` blocks for
it, `done()` polls it. `then(callback)` returns a new Future completed with `callback(this_future)`; callbacks
run on the thread that observes the completion (the one calling `wait`, `done` or `set_result`)."""

__all__ = ["Future", "collect_all", "wait_all"]


class Future:
    """Future(*, devices=None): the result of an asynchronous computation."""

    def __init__(self, *, devices=None):
        self._done = False
        self._value = None
        self._exc = None
        self._callbacks = []
        self._waiter = None         # blocks until the source completes, then completes this future
        self._poller = None         # returns without blocking; completes this future when the source is done

    # ------------------------------------------------------------------ state
    def done(self):
        """Whether the value (or an exception) is set."""
        if not self._done and self._poller is not None:
            self._poller()
        return self._done

    def wait(self):
        """Block until the future completes; return its value (raise its exception)."""
        if not self._done:
            if self._waiter is None:
                raise RuntimeError("wait() on a Future that nothing completes: its result was never set and no "
                                   "operation is behind it")
            self._waiter()
        if self._exc is not None:
            raise self._exc
        return self._value

    def value(self):
        """The value of a completed future (raises its exception; completes it first if an operation is behind
        it)."""
        return self.wait()

    # ------------------------------------------------------------------ completion
    def set_result(self, result):
        if self._done:
            raise RuntimeError("Future can only be marked completed once.")
        self._value = result
        self._finish()

    def set_exception(self, result):
        if not isinstance(result, BaseException):
            raise TypeError(f"set_exception expects an exception, got {type(result).__name__}")
        if self._done:
            raise RuntimeError("Future can only be marked completed once.")
        self._exc = result
        self._finish()

    def _finish(self):
        self._done = True
        self._waiter = self._poller = None
        cbs, self._callbacks = self._callbacks, []
        for cb in cbs:
            cb(self)

    # ------------------------------------------------------------------ chaining
    def add_done_callback(self, callback):
        """Run callback(self) once the future completes (now, if it has)."""
        if self._done:
            callback(self)
        else:
            self._callbacks.append(callback)

    def then(self, callback):
        """A new Future holding callback(self) once this one completes (an exception in the callback, or in this
        future, completes the new one with that exception)."""
        child = Future()

        def run(f):
            try:
                child.set_result(callback(f))
            except Exception as e:      # noqa: BLE001 - handed to whoever waits on the child
                child.set_exception(e)

        if self._done:
            run(self)
            return child
        self._callbacks.append(run)
        child._waiter = self._wait_source
        child._poller = self._poll_source
        return child

    def _wait_source(self):
        if not self._done:
            self.wait()

    def _poll_source(self):
        self.done()

    def __repr__(self):
        return f"Future(done={self._done})"


def _from_operation(wait, poll, value):
    """A Future completed with `value` when the operation behind `wait()` / `poll() -> bool` completes."""
    f = Future()

    def waiter():
        try:
            wait()
        except Exception as e:      # noqa: BLE001 - the future carries the operation's failure
            f.set_exception(e)
            return
        f.set_result(value)

    def poller():
        try:
            ok = poll()
        except Exception as e:      # noqa: BLE001
            f.set_exception(e)
            return
        if ok:
            f.set_result(value)

    f._waiter, f._poller = waiter, poller
    return f


def collect_all(futures):
    """A Future completed with the list of `futures` once all of them are complete."""
    futures = list(futures)
    out = Future()

    def waiter():
        for f in futures:
            if not f._done:
                try:
                    f.wait()
                except Exception:       # noqa: BLE001 - kept in that future; collect_all completes regardless
                    pass
        if not out._done:
            out.set_result(futures)

    def poller():
        if all(f.done() for f in futures) and not out._done:
            out.set_result(futures)

    out._waiter, out._poller = waiter, poller
    if not futures:
        out.set_result([])
    return out


def wait_all(futures):
    """Wait for every future; return their values (raises the first exception met)."""
    return [f.wait() for f in futures]
