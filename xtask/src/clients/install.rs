//! Installing the pinned clients into .cache/ on first use.

use super::*;

/// What each client needs, installed once per command; an install that failed is said in
/// every flow of that client instead of running it.
pub(super) struct Installed {
    pub(super) programs: BTreeMap<Client, Result<Vec<PathBuf>, String>>,
    pub(super) versions: BTreeMap<String, String>,
}

impl Installed {
    pub(super) fn prepare(root: &Path, flows: &[&Flow]) -> Installed {
        let mut programs = BTreeMap::new();
        for flow in flows {
            programs
                .entry(flow.client)
                .or_insert_with(|| install(root, flow.client).map_err(|e| format!("{e:#}")));
        }
        Installed {
            programs,
            versions: BTreeMap::new(),
        }
    }
}

/// The command that runs a client's flows (program, then its script), installing it first.
pub(super) fn install(root: &Path, client: Client) -> Result<Vec<PathBuf>> {
    let script = |name: &str| root.join("clients").join(name).join("flow.py");
    let python = |venv: PathBuf| venv.join("bin").join("python");
    Ok(match client {
        // The AWS CLI's venv (shared with the reproduction scripts): its python runs the flow.
        Client::AwsCli => vec![
            tools::aws_cli(root)?.with_file_name("python"),
            script("awscli"),
        ],
        Client::Boto3 => vec![
            python(tools::python_venv(root, "boto3", BOTO3)?),
            script("boto3"),
        ],
        Client::MinioPy => vec![
            python(tools::python_venv(root, "minio-py", MINIO_PY)?),
            script("minio-py"),
        ],
        Client::JsSdk => vec![PathBuf::from("node"), js_sdk(root)?],
        Client::RustSdk => vec![rust_sdk(root)?],
        Client::Rclone => {
            let found = Command::new("rclone")
                .arg("version")
                .output()
                .is_ok_and(|o| o.status.success());
            if !found {
                bail!("rclone is not installed (Debian: apt-get install rclone; .ci/run does)");
            }
            vec![PathBuf::from("python3"), script("rclone")]
        }
    })
}

/// `npm ci` of clients/js-sdk's lock file into .cache/tools/node; the flow script is
/// copied beside node_modules so that Node finds the package.
pub(super) fn js_sdk(root: &Path) -> Result<PathBuf> {
    let source = root.join("clients").join("js-sdk");
    let dir = root.join(".cache").join("tools").join("node");
    std::fs::create_dir_all(&dir)?;
    let _lock = process::lock(&dir.join("install.lock"), BUILD_LIMIT)?;
    let lock_file = std::fs::read(source.join("package-lock.json"))
        .context("clients/js-sdk/package-lock.json")?;
    let marker = dir.join("installed-lock.json");
    if std::fs::read(&marker).ok().as_ref() != Some(&lock_file) {
        let npm = Command::new("npm")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !npm {
            bail!("npm is not installed (Debian: apt-get install nodejs npm; .ci/run does)");
        }
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source.join(file), dir.join(file))?;
        }
        let mut ci = Command::new("npm");
        ci.args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
            .current_dir(&dir);
        eprintln!("installing @aws-sdk/client-s3 into {}", dir.display());
        process::run_step(ci, BUILD_LIMIT, &dir.join("install.log"), false)
            .context("npm ci failed")?;
        std::fs::write(&marker, &lock_file)?;
    }
    let flow = dir.join("flow.mjs");
    std::fs::copy(source.join("flow.mjs"), &flow)?;
    Ok(flow)
}

/// The AWS SDK for Rust flow, built from clients/rust-sdk (its own workspace and lock file)
/// into .cache/clients/rust-sdk/target.
pub(super) fn rust_sdk(root: &Path) -> Result<PathBuf> {
    let target = root
        .join(".cache")
        .join("clients")
        .join("rust-sdk")
        .join("target");
    std::fs::create_dir_all(&target)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args(["build", "--release", "--locked", "--manifest-path"])
        .arg(root.join("clients/rust-sdk/Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .env_remove("CARGO_TARGET_DIR");
    eprintln!("building the AWS SDK for Rust flow (clients/rust-sdk; minutes the first time)");
    let log = target.join("build.log");
    std::fs::write(&log, b"")?;
    process::run_step(build, BUILD_LIMIT, &log, false)
        .context("building clients/rust-sdk failed")?;
    Ok(target.join("release").join("rust-sdk-flow"))
}

/// Builds the runner's client-check binary and returns its path.
pub(super) fn build_check(root: &Path) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(&cargo)
        .args(["build", "--package", "runner", "--bin", "client-check"])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {cargo} build"))?;
    if !output.status.success() {
        bail!("building the runner's client-check failed");
    }
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact" && message["target"]["name"] == "client-check" {
            if let Some(exe) = message["executable"].as_str() {
                return Ok(PathBuf::from(exe));
            }
        }
    }
    bail!("cargo build did not name the client-check executable")
}
