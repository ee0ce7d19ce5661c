"""rclone's flow (see ../README.md), on the machine's own python3 (standard library only):

  copy   `rclone copyto` of a 7 MiB object between buckets of one remote, server-side,
         with --s3-copy-cutoff 5M so that it is a multipart copy (CreateMultipartUpload,
         UploadPartCopy per 5 MiB, CompleteMultipartUpload)

The remote is configured by environment variables (the keys never appear on a command
line); `--dump headers` gives the exchanges, which are read back from rclone's log.
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import flowlib  # noqa: E402
from flowlib import segment  # noqa: E402

RCLONE = os.environ.get("FLOW_RCLONE", "rclone")
REQUEST = re.compile(r"^(GET|PUT|POST|HEAD|DELETE) (\S+) HTTP/")
RESPONSE = re.compile(r"^HTTP/[0-9.]+ (\d{3})")


def version():
    out = subprocess.run([RCLONE, "version"], capture_output=True, text=True, timeout=30)
    return (out.stdout.splitlines() or ["unknown"])[0].removeprefix("rclone ").strip()


def environment(flow):
    env = dict(os.environ)
    for name in list(env):
        # AWS_CA_BUNDLE makes rclone's SDK replace its HTTP transport, which rclone refuses.
        if name.startswith("RCLONE_") or name == "AWS_CA_BUNDLE":
            del env[name]
    env.update(
        {
            "RCLONE_CONFIG": os.devnull,
            "RCLONE_CONFIG_T_TYPE": "s3",
            "RCLONE_CONFIG_T_PROVIDER": "Other",
            "RCLONE_CONFIG_T_ENV_AUTH": "false",
            "RCLONE_CONFIG_T_ACCESS_KEY_ID": flow.access_key,
            "RCLONE_CONFIG_T_SECRET_ACCESS_KEY": flow.secret_key,
            "RCLONE_CONFIG_T_REGION": flow.region,
            "RCLONE_CONFIG_T_ENDPOINT": flow.endpoint,
            "RCLONE_CONFIG_T_FORCE_PATH_STYLE": "true",
        }
    )
    return env


def record(flow, log):
    """The exchanges `--dump headers` wrote: request line, headers, then the status."""
    exchange = None
    in_request = False
    for line in log.splitlines():
        text = line.split(": ", 2)[-1] if " : " in line else line
        text = text.strip()
        m = REQUEST.match(text)
        if m:
            method, target = m.groups()
            flow.sent(method, "http://host" + target, [])
            exchange = flow.exchanges[-1]
            in_request = True
            continue
        m = RESPONSE.match(text)
        if m and exchange is not None:
            flow.answered(int(m.group(1)))
            exchange = None
            in_request = False
            continue
        if in_request and exchange is not None and ": " in text and not text.startswith("HTTP"):
            name, _, value = text.partition(": ")
            if re.fullmatch(r"[A-Za-z0-9-]+", name):
                exchange["headers"].append([name, value])
        elif text.startswith("----") or not text:
            in_request = False if exchange is None else in_request


def rclone(flow, *args):
    out = subprocess.run(
        [RCLONE, *args, "--retries", "1", "--low-level-retries", "1", "--contimeout", "10s",
         "--timeout", "60s", "--dump", "headers", "--log-level", "DEBUG"],
        env=environment(flow),
        capture_output=True,
        text=True,
        timeout=300,
    )
    record(flow, out.stderr)
    if out.returncode != 0:
        errors = [line for line in out.stderr.splitlines() if "ERROR" in line or "Failed" in line]
        message = " ".join((errors[-1] if errors else f"exit {out.returncode}").split())
        last = [x for x in flow.exchanges if x["step"] == flow.step and x.get("status", 0) >= 300]
        fields = {"status": last[-1]["status"]} if last else {}
        flow.fail(flow.step, message[:1000], **fields)


def copy(flow):
    size = flow.size(flow.data_a)
    flow.run("create-source-bucket", rclone, flow, "mkdir", f"t:{flow.src_bucket}")
    flow.run("create-destination-bucket", rclone, flow, "mkdir", f"t:{flow.dst_bucket}")
    # One PutObject: the upload cutoff above the object's size.
    flow.run("put-source", rclone, flow, "copyto", flow.data_a, f"t:{flow.src_bucket}/{flow.src_key}",
             "--s3-upload-cutoff", "64M")
    flow.run("server-side-copy", rclone, flow, "copyto", f"t:{flow.src_bucket}/{flow.src_key}",
             f"t:{flow.dst_bucket}/{flow.dst_key}", "--s3-copy-cutoff", "5M")
    flow.expect = [segment("a", 0, size - 1)]


flowlib.main({"copy": copy}, lambda: flowlib.Flow("rclone", version()))
