"""What every Python flow shares: the environment the harness gives (see ../README.md), the
record of steps and HTTP exchanges, and the report written to $FLOW_REPORT.

Standard library only: the rclone flow runs on the machine's own python3.
"""

import json
import os
import threading

MIB = 1 << 20


def env(name):
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set")
    return value


class Stop(Exception):
    """A step failed: the flow stops there (the harness cleans up)."""


class Flow:
    def __init__(self, client, version):
        self.client = client
        self.version = version
        self.steps = []
        self.exchanges = []
        self.expect = None
        self.step = None
        self._lock = threading.Lock()
        # The exchange a thread has on the wire (managed transfers send from several).
        self._current = threading.local()

    # Names and data the harness gave this run.
    endpoint = property(lambda self: env("FLOW_ENDPOINT"))
    region = property(lambda self: env("FLOW_REGION"))
    access_key = property(lambda self: env("AWS_ACCESS_KEY_ID"))
    secret_key = property(lambda self: env("AWS_SECRET_ACCESS_KEY"))
    src_bucket = property(lambda self: env("FLOW_SOURCE_BUCKET"))
    dst_bucket = property(lambda self: env("FLOW_DEST_BUCKET"))
    src_key = property(lambda self: env("FLOW_SOURCE_KEY"))
    dst_key = property(lambda self: env("FLOW_DEST_KEY"))
    data_a = property(lambda self: env("FLOW_DATA_A"))
    data_b = property(lambda self: env("FLOW_DATA_B"))
    work = property(lambda self: env("FLOW_WORK"))

    def size(self, path):
        return os.path.getsize(path)

    def run(self, name, fn, *args, **kwargs):
        """Runs one step; a failure is recorded and stops the flow."""
        self.step = name
        try:
            result = fn(*args, **kwargs)
        except Stop:
            raise
        except Exception as e:  # the client's own error, whatever its type
            self.fail(name, describe(e), **error_fields(e))
        self.steps.append({"name": name, "ok": True})
        return result

    def fail(self, name, error, **fields):
        self.steps.append({"name": name, "ok": False, "error": error, **fields})
        raise Stop(error)

    def sent(self, method, url, headers):
        """An HTTP request went out (called from the thread that sends it)."""
        path, _, query = url.split("://", 1)[-1].partition("/")[2].partition("?")
        exchange = {
            "step": self.step,
            "method": method,
            "path": "/" + path,
            "query": query,
            "headers": [[k, str(v)] for k, v in headers],
        }
        with self._lock:
            self.exchanges.append(exchange)
        self._current.exchange = exchange

    def answered(self, status, body=None):
        """The answer to this thread's last request."""
        exchange = getattr(self._current, "exchange", None)
        if exchange is None:
            return
        exchange["status"] = int(status)
        if status >= 300 and isinstance(body, (bytes, bytearray)):
            exchange["body"] = bytes(body[:4096]).decode("utf-8", "replace")
        self._current.exchange = None

    def write(self):
        report = {
            "client": self.client,
            "version": self.version,
            "steps": self.steps,
            "exchanges": self.exchanges,
            "expect": self.expect,
        }
        with open(env("FLOW_REPORT"), "w") as f:
            json.dump(report, f)


def describe(e):
    return " ".join(str(e).split()) or type(e).__name__


def error_fields(e):
    """Status, code and message of a botocore ClientError or a minio S3Error."""
    response = getattr(e, "response", None)
    if isinstance(response, dict) and "Error" in response:
        err = response["Error"]
        meta = response.get("ResponseMetadata", {})
        return {
            "status": meta.get("HTTPStatusCode"),
            "code": err.get("Code"),
            "message": err.get("Message"),
        }
    code = getattr(e, "code", None)
    if isinstance(code, str):
        status = getattr(getattr(e, "response", None), "status", None)
        return {"status": status, "code": code, "message": getattr(e, "message", None)}
    return {}


def segment(data, first, last):
    """Bytes first..=last of data file `a` or `b`: what a part of the destination holds."""
    return {"data": data, "first": first, "last": last}


def record_botocore(flow, events):
    """Records every S3 request a botocore session (boto3's or the AWS CLI's) sends."""

    def before_send(request, **_):
        flow.sent(request.method, request.url, request.headers.items())

    def received(response_dict=None, **_):
        if response_dict is not None:
            flow.answered(response_dict["status_code"], response_dict.get("body"))

    events.register("before-send.s3", before_send)
    events.register("response-received.s3", received)


def main(flows, make):
    """Runs the flow named on the command line: `make()` gives the Flow, `flows[name](flow)`
    its steps. The report is written whether the steps succeed or not."""
    import sys

    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in flows:
        raise SystemExit(f"unknown flow {name!r} (known: {', '.join(sorted(flows))})")
    flow = make()
    try:
        flows[name](flow)
    except Stop:
        pass
    finally:
        flow.write()
