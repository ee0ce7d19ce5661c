"""The AWS CLI's flows, each command run in-process through the CLI's own driver so that
its botocore session records every request (see ../README.md).

  part-copy      seed 001: create-multipart-upload, upload-part-copy with --copy-source-range
                 and --copy-source-if-match (two parts, in an order the source does not
                 have), complete-multipart-upload
  cp             `aws s3 cp` between buckets of a 7 MiB object, multipart_threshold 5MB:
                 a managed multipart copy
  cp-checksum    the same with --checksum-algorithm CRC32
"""

import contextlib
import io
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import flowlib  # noqa: E402
from flowlib import MIB, segment  # noqa: E402

import awscli  # noqa: E402
from awscli.clidriver import create_clidriver  # noqa: E402


def configure(flow):
    """A config file of the flow's own: the multipart threshold low enough for a 7 MiB
    object, path-style addressing, no retries (a retry would hide what the server did)."""
    path = os.path.join(flow.work, "aws-config")
    with open(path, "w") as f:
        f.write(
            "[default]\n"
            f"region = {flow.region}\n"
            "max_attempts = 1\n"
            "retry_mode = standard\n"
            "s3 =\n"
            "  addressing_style = path\n"
            "  multipart_threshold = 5MB\n"
            "  multipart_chunksize = 5MB\n"
        )
    os.environ["AWS_CONFIG_FILE"] = path
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ.pop("AWS_PROFILE", None)


def aws(flow, *args):
    """One CLI command, as `aws ARGS --endpoint-url … --output json` would run it."""
    driver = create_clidriver()
    flowlib.record_botocore(flow, driver.session)
    out, err = io.StringIO(), io.StringIO()
    argv = list(args) + [
        "--endpoint-url",
        flow.endpoint,
        "--output",
        "json",
        "--cli-read-timeout",
        "60",
        "--cli-connect-timeout",
        "10",
    ]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = driver.main(argv)
    if rc != 0:
        flow.fail(flow.step, " ".join(err.getvalue().split()) or f"exit {rc}", **answer(flow))
    text = out.getvalue().strip()
    if not text or not text.startswith("{"):
        return {}
    return json.loads(text)


def answer(flow):
    """Status of the step's last exchange (the CLI prints only the code and message)."""
    mine = [x for x in flow.exchanges if x["step"] == flow.step and "status" in x]
    return {"status": mine[-1]["status"]} if mine else {}


def buckets_and_source(flow):
    flow.run("create-source-bucket", aws, flow, "s3api", "create-bucket", "--bucket", flow.src_bucket)
    flow.run("create-destination-bucket", aws, flow, "s3api", "create-bucket", "--bucket", flow.dst_bucket)
    put = flow.run(
        "put-source",
        aws,
        flow,
        "s3api",
        "put-object",
        "--bucket",
        flow.src_bucket,
        "--key",
        flow.src_key,
        "--body",
        flow.data_a,
    )
    return put.get("ETag", "")


def part_copy(flow):
    size = flow.size(flow.data_a)
    etag = buckets_and_source(flow)
    created = flow.run(
        "create-multipart-upload",
        aws,
        flow,
        "s3api",
        "create-multipart-upload",
        "--bucket",
        flow.dst_bucket,
        "--key",
        flow.dst_key,
    )
    upload_id = created.get("UploadId", "")
    # Part 1 is the source from 2 MiB on (5 MiB), part 2 its first 2 MiB: a server that
    # ignored the range would be seen in the bytes.
    ranges = [(2 * MIB, size - 1), (0, 2 * MIB - 1)]
    parts = []
    for number, (first, last) in enumerate(ranges, start=1):
        out = flow.run(
            "upload-part-copy",
            aws,
            flow,
            "s3api",
            "upload-part-copy",
            "--bucket",
            flow.dst_bucket,
            "--key",
            flow.dst_key,
            "--upload-id",
            upload_id,
            "--part-number",
            str(number),
            "--copy-source",
            f"{flow.src_bucket}/{flow.src_key}",
            "--copy-source-range",
            f"bytes={first}-{last}",
            "--copy-source-if-match",
            etag,
        )
        parts.append({"PartNumber": number, "ETag": out.get("CopyPartResult", {}).get("ETag", "")})
    flow.run(
        "complete-multipart-upload",
        aws,
        flow,
        "s3api",
        "complete-multipart-upload",
        "--bucket",
        flow.dst_bucket,
        "--key",
        flow.dst_key,
        "--upload-id",
        upload_id,
        "--multipart-upload",
        json.dumps({"Parts": parts}),
    )
    flow.expect = [segment("a", first, last) for first, last in ranges]


def cp(flow, *extra):
    size = flow.size(flow.data_a)
    buckets_and_source(flow)
    flow.run(
        "s3-cp",
        aws,
        flow,
        "s3",
        "cp",
        f"s3://{flow.src_bucket}/{flow.src_key}",
        f"s3://{flow.dst_bucket}/{flow.dst_key}",
        "--no-progress",
        *extra,
    )
    flow.expect = [segment("a", 0, size - 1)]


def make():
    flow = flowlib.Flow("aws-cli", awscli.__version__)
    configure(flow)
    return flow


flowlib.main(
    {
        "part-copy": part_copy,
        "cp": cp,
        "cp-checksum": lambda flow: cp(flow, "--checksum-algorithm", "CRC32"),
    },
    make,
)
