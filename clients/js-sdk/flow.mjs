// The AWS SDK for JavaScript v3's flow (see ../README.md for the protocol):
//
//   part-copy   CreateMultipartUpload, UploadPartCommand with the SDK's default checksums
//               (CRC32 in an aws-chunked body with a trailer), UploadPartCopyCommand with
//               CopySourceRange and CopySourceIfMatch, CompleteMultipartUpload
//
// Every exchange is recorded by middleware at the end of the stack (what goes on the wire,
// signed);
// the report goes to $FLOW_REPORT as JSON.

import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import {
  S3Client,
  CreateBucketCommand,
  PutObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  CompleteMultipartUploadCommand,
} from "@aws-sdk/client-s3";

const MIB = 1 << 20;
const require = createRequire(import.meta.url);
const VERSION = require("@aws-sdk/client-s3/package.json").version;

function env(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const record = { step: null, steps: [], exchanges: [] };

const s3 = new S3Client({
  endpoint: env("FLOW_ENDPOINT"),
  region: env("FLOW_REGION"),
  credentials: { accessKeyId: env("AWS_ACCESS_KEY_ID"), secretAccessKey: env("AWS_SECRET_ACCESS_KEY") },
  forcePathStyle: true,
  // No retries, as in the harness: a retry would hide what the server did.
  maxAttempts: 1,
});

s3.middlewareStack.add(
  (next) => async (args) => {
    const request = args.request;
    const exchange = {
      step: record.step,
      method: request.method,
      path: request.path,
      query: new URLSearchParams(
        Object.entries(request.query || {}).flatMap(([k, v]) => (Array.isArray(v) ? v.map((x) => [k, x]) : [[k, v ?? ""]])),
      ).toString(),
      headers: Object.entries(request.headers || {}),
    };
    record.exchanges.push(exchange);
    // Innermost: `next` is the HTTP handler, whose raw answer has not been parsed yet.
    const result = await next(args);
    exchange.status = result.response.statusCode;
    return result;
  },
  { step: "deserialize", name: "flowRecorder", priority: "low" },
);

class Stop extends Error {}

async function step(name, command) {
  record.step = name;
  try {
    const out = await s3.send(command);
    record.steps.push({ name, ok: true });
    return out;
  } catch (e) {
    const entry = { name, ok: false, error: `${e?.name ?? "Error"}: ${String(e?.message ?? e).split(/\s+/).join(" ")}` };
    if (e?.$metadata?.httpStatusCode) entry.status = e.$metadata.httpStatusCode;
    if (e?.Code || e?.name) entry.code = e.Code ?? e.name;
    record.steps.push(entry);
    throw new Stop(entry.error);
  }
}

async function partCopy() {
  const srcBucket = env("FLOW_SOURCE_BUCKET");
  const dstBucket = env("FLOW_DEST_BUCKET");
  const srcKey = env("FLOW_SOURCE_KEY");
  const dstKey = env("FLOW_DEST_KEY");
  const a = readFileSync(env("FLOW_DATA_A"));
  const b = readFileSync(env("FLOW_DATA_B"));
  await step("create-source-bucket", new CreateBucketCommand({ Bucket: srcBucket }));
  await step("create-destination-bucket", new CreateBucketCommand({ Bucket: dstBucket }));
  const put = await step("put-source", new PutObjectCommand({ Bucket: srcBucket, Key: srcKey, Body: a }));
  const created = await step("create-multipart-upload", new CreateMultipartUploadCommand({ Bucket: dstBucket, Key: dstKey }));
  const uploadId = created.UploadId;
  // Part 1: B's first 5 MiB, sent with the SDK's default checksum (no algorithm named).
  const part1 = await step(
    "upload-part",
    new UploadPartCommand({ Bucket: dstBucket, Key: dstKey, UploadId: uploadId, PartNumber: 1, Body: b.subarray(0, 5 * MIB) }),
  );
  // Part 2: A from 1 MiB to its end, copied while A is still the object whose ETag we hold.
  const part2 = await step(
    "upload-part-copy",
    new UploadPartCopyCommand({
      Bucket: dstBucket,
      Key: dstKey,
      UploadId: uploadId,
      PartNumber: 2,
      CopySource: `${srcBucket}/${srcKey}`,
      CopySourceRange: `bytes=${MIB}-${a.length - 1}`,
      CopySourceIfMatch: put.ETag,
    }),
  );
  const parts = [{ PartNumber: 1, ETag: part1.ETag }, { PartNumber: 2, ETag: part2.CopyPartResult?.ETag }];
  // The part's checksum, when the SDK sent one: Complete names it as the SDK would.
  if (part1.ChecksumCRC32) parts[0].ChecksumCRC32 = part1.ChecksumCRC32;
  await step(
    "complete-multipart-upload",
    new CompleteMultipartUploadCommand({ Bucket: dstBucket, Key: dstKey, UploadId: uploadId, MultipartUpload: { Parts: parts } }),
  );
  return [
    { data: "b", first: 0, last: 5 * MIB - 1 },
    { data: "a", first: MIB, last: a.length - 1 },
  ];
}

const flows = { "part-copy": partCopy };
const name = process.argv[2] ?? "";
if (!(name in flows)) {
  console.error(`unknown flow ${JSON.stringify(name)} (known: ${Object.keys(flows).join(", ")})`);
  process.exit(2);
}
let expect = null;
try {
  expect = await flows[name]();
} catch (e) {
  if (!(e instanceof Stop)) {
    record.steps.push({ name: record.step ?? "setup", ok: false, error: String(e?.message ?? e) });
  }
} finally {
  writeFileSync(
    env("FLOW_REPORT"),
    JSON.stringify({ client: "@aws-sdk/client-s3", version: VERSION, steps: record.steps, exchanges: record.exchanges, expect }),
  );
}
