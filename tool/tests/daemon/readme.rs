//! The README's tool example, run as written: every command of its `console` block in one
//! shell, each command's output (stdout and stderr, in order) compared with the lines the
//! README shows under it, so the example cannot drift from what the tool does.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::*;
use crate::{ensure, ensure_eq};

/// The comment line right above the README's tool example.
const MARKER: &str = "<!-- Run by tool/tests/daemon/readme.rs";

/// The example's commands and the output each one shows, from the first fenced block after
/// [`MARKER`]: a line `$ COMMAND`, then its output lines.
fn example(readme: &str) -> Result<Vec<(String, String)>, String> {
    let start = readme
        .find(MARKER)
        .ok_or("README.md has no tool example marker")?;
    let mut lines = readme[start..].lines().skip(1);
    ensure_fence(lines.next(), "```console")?;
    let mut steps: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line == "```" {
            return Ok(steps);
        }
        if let Some(command) = line.strip_prefix("$ ") {
            steps.push((command.to_string(), String::new()));
        } else {
            let (_, output) = steps
                .last_mut()
                .ok_or_else(|| format!("output before any command: {line:?}"))?;
            output.push_str(line);
            output.push('\n');
        }
    }
    Err("the tool example's block does not end".to_string())
}

fn ensure_fence(line: Option<&str>, fence: &str) -> Result<(), String> {
    match line {
        Some(l) if l == fence => Ok(()),
        other => Err(format!(
            "expected {fence:?} after the marker, found {other:?}"
        )),
    }
}

/// The README's tool example: the commands run in `sh` with the tool under test first on
/// `PATH` as `rawdaemon`, and `/tmp/` in commands and output standing for a fresh directory
/// of this test (so that runs never meet); every command's output must be the README's.
pub fn readme_tool_example() -> TestResult {
    if tool_lacks().iter().any(|l| l == "tool-control") {
        return Err(format!(
            "{SKIP}the example stops the daemon and asks its status (tool-control)"
        ));
    }
    // The repository's README (the tool's package carries a copy at its root).
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme_path = [manifest.join("../README.md"), manifest.join("README.md")]
        .into_iter()
        .find(|p| p.exists())
        .ok_or("no README.md beside the tool's package")?;
    let readme = read_text(&readme_path)?;
    let steps = example(&readme)?;
    ensure!(steps.len() >= 4, "the example has {} commands", steps.len());

    let dir = TempDir::new("readme");
    let bin = dir.path("bin");
    std::fs::create_dir(&bin).map_err(|e| e.to_string())?;
    let tool_path = tool().get_program().to_owned();
    std::os::unix::fs::symlink(&tool_path, bin.join("rawdaemon")).map_err(|e| e.to_string())?;
    let tmp = format!("{}/", dir.path("tmp").display());
    std::fs::create_dir(&tmp).map_err(|e| e.to_string())?;

    // One shell for the whole example (`echo $?` reads the command before it); a separator
    // line before each command, printed without changing `$?`.
    const SEPARATOR: &str = "=== readme step ===";
    let mut script = String::from("exec 2>&1\n");
    for (command, _) in &steps {
        script.push_str(&format!(
            "__s=$?; echo '{SEPARATOR}'; (exit $__s)\n{}\n",
            command.replace("/tmp/", &tmp)
        ));
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = try_run(
        Command::new("sh")
            .arg("-c")
            .arg(&script)
            .env("PATH", path)
            .stdin(Stdio::null()),
    )?;
    // Whatever the example left running (it stops its daemon itself).
    let pid_file = format!("{tmp}agent.pid");
    if Path::new(&pid_file).exists() {
        let _ = tool().args(["--stop", "-p", &pid_file]).output();
    }
    let text = String::from_utf8_lossy(&out.stdout).replace(&tmp, "/tmp/");
    let separator = format!("{SEPARATOR}\n");
    let mut outputs = text.split(separator.as_str());
    ensure_eq!(outputs.next(), Some(""), "output before the first command");
    for (command, expected) in &steps {
        let got = outputs
            .next()
            .unwrap_or("<the shell ended before this command>");
        ensure_eq!(got, expected.as_str(), "the output of `{command}`");
    }
    Ok(())
}
