//! How a server installs: from PyPI into a venv, from crates.io with `cargo install`, from
//! npm, or from Debian's packages. Everything but apt goes into the server's cache folder.

use super::process::run_step;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

pub enum Recipe {
    /// A venv in the cache folder with these packages; `bin` is its program.
    Pip {
        python: Python,
        packages: &'static [&'static str],
        bin: &'static str,
    },
    /// `cargo install ARGS --locked --root <cache>`.
    Cargo {
        args: &'static [&'static str],
        bin: &'static str,
    },
    /// `npm install --prefix <cache> PACKAGE`.
    Npm {
        package: &'static str,
        bin: &'static str,
    },
    /// Debian packages, installed machine-wide.
    Apt { packages: &'static [&'static str] },
}

/// The interpreter a venv is made with.
pub enum Python {
    /// `python3` from the PATH.
    Any,
    /// Python 3.13 where the machine has it; elsewhere `python3`, with the first package
    /// replaced by `older` (a release that runs on older Pythons).
    Prefer313 { older: &'static str },
}

/// A Pip recipe as it applies on this machine.
struct Venv {
    python313: bool,
    packages: Vec<&'static str>,
}

impl Recipe {
    fn venv(python: &Python, packages: &'static [&'static str]) -> Venv {
        match python {
            Python::Any => Venv {
                python313: false,
                packages: packages.to_vec(),
            },
            Python::Prefer313 { .. } if python313().is_some() => Venv {
                python313: true,
                packages: packages.to_vec(),
            },
            Python::Prefer313 { older } => Venv {
                python313: false,
                packages: std::iter::once(*older)
                    .chain(packages.iter().skip(1).copied())
                    .collect(),
            },
        }
    }

    /// What gets installed, for messages and the marker file.
    pub fn describe(&self) -> String {
        match self {
            Recipe::Pip {
                python, packages, ..
            } => {
                let venv = Self::venv(python, packages);
                format!(
                    "pip{}: {}",
                    if venv.python313 { " (python 3.13)" } else { "" },
                    venv.packages.join(" ")
                )
            }
            Recipe::Cargo { args, .. } => format!("cargo install {}", args.join(" ")),
            Recipe::Npm { package, .. } => format!("npm {package}"),
            Recipe::Apt { packages } => format!("apt {}", packages.join(" ")),
        }
    }

    /// The installed program of the server.
    pub fn program(&self, cache: &Path) -> PathBuf {
        match self {
            Recipe::Pip { bin, .. } => cache.join("venv").join("bin").join(bin),
            Recipe::Cargo { bin, .. } => cache.join("bin").join(bin),
            Recipe::Npm { bin, .. } => cache.join("node_modules").join(".bin").join(bin),
            Recipe::Apt { .. } => PathBuf::from("/usr/bin/radosgw"),
        }
    }

    pub fn installed(&self, cache: &Path) -> bool {
        match self {
            Recipe::Apt { packages } => packages.iter().all(|p| dpkg_installed(p)),
            _ => {
                self.program(cache).exists()
                    && std::fs::read_to_string(marker(cache))
                        .is_ok_and(|m| m.trim() == self.describe())
            }
        }
    }

    pub fn install(&self, root: &Path, cache: &Path, log: &Path) -> Result<()> {
        std::fs::write(log, b"").with_context(|| format!("cannot write {}", log.display()))?;
        let step = |cmd: Command| {
            run_step(cmd, INSTALL_LIMIT, log, false)
                .map(drop)
                .map_err(|e| e.context(format!("see {}", log.display())))
        };
        match self {
            Recipe::Pip {
                python, packages, ..
            } => install_pip(&Self::venv(python, packages), cache, step)?,
            Recipe::Cargo { args, .. } => {
                let mut cmd =
                    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
                cmd.arg("install")
                    .args(*args)
                    .args(["--locked", "--root"])
                    .arg(cache)
                    .current_dir(root);
                step(cmd)?;
            }
            Recipe::Npm { package, .. } => {
                let mut cmd = Command::new("npm");
                cmd.args(["install", "--no-audit", "--no-fund", "--prefix"])
                    .arg(cache)
                    .arg(package);
                step(cmd)?;
            }
            Recipe::Apt { packages } => return install_apt(packages, step),
        }
        let program = self.program(cache);
        if !program.exists() {
            bail!("the install finished but {} is missing", program.display());
        }
        std::fs::write(marker(cache), self.describe())
            .with_context(|| format!("cannot write {}", marker(cache).display()))
    }
}

const INSTALL_LIMIT: Duration = Duration::from_secs(45 * 60);

fn marker(cache: &Path) -> PathBuf {
    cache.join("installed.txt")
}

fn install_pip(venv: &Venv, cache: &Path, step: impl Fn(Command) -> Result<()>) -> Result<()> {
    let python = if venv.python313 {
        python313().context("python3.13 is gone")?
    } else {
        PathBuf::from("python3")
    };
    let dir = cache.join("venv");
    let venv_python = dir.join("bin").join("python");
    // A venv whose interpreter moved or changed is rebuilt, not patched.
    let usable = Command::new(&venv_python)
        .args(["-c", ""])
        .output()
        .is_ok_and(|o| o.status.success());
    if !usable
        || std::fs::read_to_string(marker(cache))
            .is_ok_and(|m| m.contains("python 3.13") != venv.python313)
    {
        let _ = std::fs::remove_dir_all(&dir);
        let mut cmd = Command::new(&python);
        cmd.args(["-m", "venv"]).arg(&dir);
        step(cmd)?;
    }
    let mut cmd = Command::new(&venv_python);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--progress-bar",
        "off",
    ])
    .args(&venv.packages);
    step(cmd)
}

fn install_apt(packages: &[&str], step: impl Fn(Command) -> Result<()>) -> Result<()> {
    // SAFETY: geteuid(2) takes no arguments, cannot fail and touches no memory of ours.
    if unsafe { libc::geteuid() } != 0 {
        bail!(
            "apt-get needs root: run `apt-get install -y {}` as root",
            packages.join(" ")
        );
    }
    let mut update = Command::new("apt-get");
    update.args(["update", "-q"]);
    step(update)?;
    let mut cmd = Command::new("apt-get");
    cmd.args(["install", "-y", "-q", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive");
    step(cmd)
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f", "${Status}", package])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.ends_with(b"install ok installed"))
}

/// A Python 3.13 interpreter (looked for once per process): pyenv's shim answers only for
/// the selected version, so the real binaries under pyenv come first.
fn python313() -> Option<PathBuf> {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND.get_or_init(find_python313).clone()
}

fn find_python313() -> Option<PathBuf> {
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(Ok(entries)) = pyenv.map(|p| std::fs::read_dir(p.join("versions"))) {
        let mut found: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("3.13"))
            .map(|e| e.path().join("bin").join("python3.13"))
            .collect();
        found.sort();
        candidates.extend(found.into_iter().rev());
    }
    candidates.push(PathBuf::from("python3.13"));
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import sys; assert sys.version_info[:2] == (3, 13)"])
            .output()
            .is_ok_and(|o| o.status.success())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_older_package_replaces_the_first_without_python_313() {
        let packages = &["new==2", "extra<3"];
        let venv = Recipe::venv(&Python::Prefer313 { older: "new==1" }, packages);
        if venv.python313 {
            assert_eq!(venv.packages, packages);
        } else {
            assert_eq!(venv.packages, ["new==1", "extra<3"]);
        }
        let cargo = Recipe::Cargo {
            args: &["x@1", "--features", "f"],
            bin: "x",
        };
        assert_eq!(cargo.describe(), "cargo install x@1 --features f");
        assert_eq!(cargo.program(Path::new("/c")), Path::new("/c/bin/x"));
    }
}
