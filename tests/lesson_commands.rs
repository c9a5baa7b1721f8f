//! Every AWS CLI command the course shows, on both tracks, goes through the AWS CLI's own
//! parsing and parameter validation (the `awscli` package from PyPI, which this project did not
//! write), with its placeholders filled with well-formed sample values.
//!
//! Each shell block (```` ```sh ````) and each check's `command` that calls `aws` runs in a real
//! bash, so quoting, `$(…)` and `&&` work as they do for a learner. The `aws` on its PATH is
//! `fixtures/aws_cli_probe.py`, which runs the real CLI against a local port where nothing
//! listens: a connection error means the CLI accepted the command; anything else fails the test
//! with what the CLI said. Nothing else runs: every other command (`curl`, `sudo`, `wget`, …) is
//! only noted, and `cd` does nothing. A block naming a file (```` ```actions.json ````) is written
//! to the working directory first, so `file://actions.json` reads what the lesson shows.
//!
//! Then every command the local track shows (its shell blocks and its checks' commands that
//! call `aws` or `curl`) runs as shown against a running lab, after `lab env`, and must exit 0.
#![allow(clippy::unwrap_used)]

#[path = "fixtures/lab_process.rs"]
mod lab_process;
#[path = "fixtures/learner.rs"]
mod learner;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use cognito_learning::lessons::{self, Lesson, Track, VARIABLES, render};

/// The `{name}` variables, as a learner's target would fill them.
fn variables() -> BTreeMap<String, String> {
    let values = [
        ("site", "https://app.example.com"),
        ("site_host", "app.example.com"),
        (
            "alb",
            "http://cognito-learning-1234567890.us-east-1.elb.amazonaws.com",
        ),
        (
            "alb_host",
            "cognito-learning-1234567890.us-east-1.elb.amazonaws.com",
        ),
        (
            "cognito",
            "https://cognito-learning-demo.auth.us-east-1.amazoncognito.com",
        ),
        (
            "issuer",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf123",
        ),
        ("client_id", "1example23456789abcdefghij"),
        ("user_pool_id", "us-east-1_AbCdEf123"),
        ("region", "us-east-1"),
        ("log_group", "cognito-learning"),
        ("instance", "i-0123456789abcdef0"),
        (
            "alb_arn",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/cognito-learning/50dc6c495c0c9188",
        ),
        (
            "certificate_arn",
            "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        ),
        ("vpc", "vpc-0123456789abcdef0"),
        ("pipeline", "cognito-learning"),
        ("app", "http://127.0.0.1:5000"),
    ];
    let vars: BTreeMap<String, String> = values
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    for (name, _) in VARIABLES {
        assert!(vars.contains_key(*name), "no sample value for {{{name}}}");
    }
    vars
}

/// The upper-case placeholders the lessons use for what the learner's own commands printed, with
/// sample values of the shape AWS gives them.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("ACCOUNT", "123456789012"),
    ("REGION", "us-east-1"),
    ("AZ_A", "us-east-1a"),
    ("AZ_B", "us-east-1b"),
    ("VPC", "vpc-0123456789abcdef0"),
    ("IGW", "igw-0123456789abcdef0"),
    ("PUBLIC_SUBNET_A", "subnet-0123456789abcdef0"),
    ("PUBLIC_SUBNET_B", "subnet-0123456789abcdef1"),
    ("PRIVATE_SUBNET", "subnet-0123456789abcdef2"),
    ("PUBLIC_RT", "rtb-0123456789abcdef0"),
    ("PRIVATE_RT", "rtb-0123456789abcdef1"),
    ("EIPALLOC", "eipalloc-0123456789abcdef0"),
    ("NAT", "nat-0123456789abcdef0"),
    ("SG_APP", "sg-0123456789abcdef0"),
    ("SG_ALB", "sg-0123456789abcdef1"),
    ("AMI", "ami-0123456789abcdef0"),
    ("INSTANCE", "i-0123456789abcdef0"),
    (
        "TG",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/cognito-learning/73e2d6bc24d8a067",
    ),
    (
        "ALB",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/cognito-learning/50dc6c495c0c9188",
    ),
    (
        "HTTP_LISTENER",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/cognito-learning/50dc6c495c0c9188/f2f7dc8efc522ab2",
    ),
    (
        "HTTPS_LISTENER",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/cognito-learning/50dc6c495c0c9188/0467ef3c8400ae65",
    ),
    (
        "CERT",
        "arn:aws:acm:us-east-1:123456789012:certificate/12345678-1234-1234-1234-123456789012",
    ),
    (
        "RULE",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/cognito-learning/50dc6c495c0c9188/0467ef3c8400ae65/9683b2d02a6cabee",
    ),
    ("YOUR_ZONE", "Z0123456789ABCDEFGHIJ"),
    ("ALB_ZONE", "Z35SXDOTRQ7X7K"),
    (
        "ALB_DNS",
        "cognito-learning-1234567890.us-east-1.elb.amazonaws.com",
    ),
    (
        "VALIDATION_NAME",
        "_3639ac514e785e898d2646601fa951d5.app.example.com.",
    ),
    (
        "VALIDATION_VALUE",
        "_98d2646601fa951d53639ac514e785e8.jkddzztszm.acm-validations.aws.",
    ),
    ("POOL", "us-east-1_AbCdEf123"),
    ("PREFIX", "cognito-learning-demo"),
    ("CLIENT", "1example23456789abcdefghij"),
    ("HOST", "app.example.com"),
    ("ARTIFACT_BUCKET", "cognito-learning-artifacts-123456789012"),
    (
        "CONNECTION_ARN",
        "arn:aws:codeconnections:us-east-1:123456789012:connection/aEXAMPLE-8aad-4d5d-8878-dfcab0bc441f",
    ),
    ("GITHUB_USER", "octocat"),
];

/// `s` with every placeholder word (a whole run of `A-Z`, `0-9` and `_`) replaced.
fn fill(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        match PLACEHOLDERS.iter().find(|(k, _)| *k == word.as_str()) {
            Some((_, v)) => out.push_str(v),
            None => out.push_str(word),
        }
        word.clear();
    };
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Where a command comes from, for the failure message.
#[derive(Debug, Clone)]
struct Origin {
    lesson: String,
    step: String,
    what: String,
    track: Track,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} › {} › {} ({} track)",
            self.lesson, self.step, self.what, self.track
        )
    }
}

/// The fenced blocks of a step's text: `(info string, body)`.
fn fences(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut open: Option<(String, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            match open.take() {
                Some(block) => out.push(block),
                None => open = Some((info.trim().to_owned(), String::new())),
            }
        } else if let Some((_, body)) = &mut open {
            body.push_str(line);
            body.push('\n');
        }
    }
    assert!(open.is_none(), "an unclosed ``` block in:\n{text}");
    out
}

/// Whether a line of shell calls the AWS CLI.
fn calls_aws(line: &str) -> bool {
    let line = line.split(" #").next().unwrap_or(line).trim_start();
    line.starts_with("aws ")
        || ["$(aws ", "&& aws ", "; aws ", "| aws "]
            .iter()
            .any(|p| line.contains(p))
}

/// How many times a snippet calls `aws`, counting continued lines once.
fn aws_calls(snippet: &str) -> usize {
    snippet
        .replace("\\\n", " ")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| {
            let l = l.split(" #").next().unwrap_or(l);
            let starts = usize::from(l.trim_start().starts_with("aws "));
            starts
                + ["$(aws ", "&& aws ", "; aws ", "| aws "]
                    .iter()
                    .map(|p| l.matches(p).count())
                    .sum::<usize>()
        })
        .sum()
}

struct Course {
    snippets: Vec<(Origin, String)>,
    files: BTreeMap<String, (Origin, String)>,
}

fn gather(all: &[Lesson]) -> Course {
    let vars = variables();
    let mut snippets = Vec::new();
    let mut files: BTreeMap<String, (Origin, String)> = BTreeMap::new();
    for track in [Track::Local, Track::Cloud] {
        for lesson in all {
            for step in &lesson.steps {
                let origin = |what: String| Origin {
                    lesson: lesson.id.clone(),
                    step: step.title.clone(),
                    what,
                    track,
                };
                let text = render(&step.text_on(track, false), &vars).unwrap();
                for (info, body) in fences(&text) {
                    let body = fill(&body);
                    if info == "sh" || info == "sh cloud" {
                        snippets.push((origin("a shell block".into()), body));
                    } else if info.contains('.') {
                        let o = origin(format!("the file {info}"));
                        if let Some((first, seen)) = files.get(&info) {
                            assert_eq!(
                                seen, &body,
                                "{o} differs from the {info} that {first} shows"
                            );
                        } else {
                            files.insert(info, (o, body));
                        }
                    } else {
                        assert!(
                            !body.lines().any(calls_aws),
                            "{}: a block that calls `aws` must be marked ```sh so it is tested:\n{body}",
                            origin("a block".into())
                        );
                    }
                }
                for (_, check) in step.checks_on(track) {
                    let command = fill(&render(&check.command, &vars).unwrap());
                    if command.lines().any(calls_aws) {
                        snippets.push((origin(format!("check {:?}", check.name)), command));
                    }
                }
            }
        }
    }
    Course { snippets, files }
}

/// A directory of its own under the system's temporary one.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "cognito-learning-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

fn awscli_version() -> String {
    let out = Command::new(python())
        .args(["-c", "import awscli; print(awscli.__version__)"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the AWS CLI from PyPI is not installed for {}: `python3 -m pip install awscli` (scripts/test installs it)\n{}",
        python(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The `aws` and shell set-up the snippets run with: a PATH holding only the probe.
fn sandbox(root: &Path) -> PathBuf {
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let probe = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/aws_cli_probe.py");
    let python = Command::new(python())
        .args(["-c", "import sys; print(sys.executable)"])
        .output()
        .unwrap();
    let python = String::from_utf8_lossy(&python.stdout).trim().to_owned();
    let aws = bin.join("aws");
    std::fs::write(
        &aws,
        format!("#!/bin/sh\nexec '{python}' '{}' \"$@\"\n", probe.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Bash runs only `aws`: any other command is noted and succeeds, and `cd` stays put.
const PRELUDE: &str = "command_not_found_handle() { printf '%s\\n' \"$1\" >> \"$OTHER_LOG\"; return 0; }\ncd() { :; }\n";

/// A local port where nothing listens.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[test]
fn every_aws_cli_command_in_the_course_is_accepted_by_the_aws_cli() {
    let (all, errors) = lessons::load(Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")));
    assert!(errors.is_empty(), "{errors:#?}");
    let version = awscli_version();
    let course = gather(&all);

    let root = scratch("cli");
    let work = root.join("work");
    std::fs::create_dir_all(work.join("deploy")).unwrap();
    for (name, (_, body)) in &course.files {
        std::fs::write(work.join(name), body).unwrap();
    }
    // Lesson 7 creates the pipeline from this repository's own file, filled in as it says.
    let pipeline =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/pipeline.json"))
            .unwrap();
    std::fs::write(
        work.join("deploy/pipeline.json"),
        fill(&pipeline.replace(
            "PIPELINE_ROLE_ARN",
            "arn:aws:iam::ACCOUNT:role/cognito-learning-pipeline",
        )),
    )
    .unwrap();
    let bin = sandbox(&root);
    let endpoint = format!("http://127.0.0.1:{}", closed_port());

    let mut failures = Vec::new();
    let mut calls = 0;
    let results: Vec<_> = std::thread::scope(|s| {
        let chunks: Vec<Vec<(usize, &(Origin, String))>> = {
            let mut c = vec![Vec::new(), Vec::new(), Vec::new()];
            for (i, snippet) in course.snippets.iter().enumerate() {
                c[i % 3].push((i, snippet));
            }
            c
        };
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (root, work, bin, endpoint) = (&root, &work, &bin, &endpoint);
                s.spawn(move || {
                    chunk
                        .into_iter()
                        .map(|(i, (origin, snippet))| {
                            let log = root.join(format!("probe-{i}.jsonl"));
                            let out = Command::new("/bin/bash")
                                .args(["--noprofile", "--norc", "-c"])
                                .arg(format!("{PRELUDE}{snippet}"))
                                .current_dir(work)
                                .env_clear()
                                .env("PATH", bin)
                                .env("HOME", root)
                                .env("PROBE_LOG", &log)
                                .env("PROBE_ENDPOINT", endpoint)
                                .env("OTHER_LOG", root.join(format!("other-{i}.txt")))
                                .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
                                .env(
                                    "AWS_SECRET_ACCESS_KEY",
                                    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                                )
                                .env("AWS_DEFAULT_REGION", "us-east-1")
                                .env("AWS_CONFIG_FILE", "/dev/null")
                                .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
                                .env("AWS_EC2_METADATA_DISABLED", "true")
                                .env("AWS_MAX_ATTEMPTS", "1")
                                .env("AWS_RETRY_MODE", "standard")
                                .output()
                                .unwrap();
                            let lines = std::fs::read_to_string(&log).unwrap_or_default();
                            (origin.clone(), snippet.clone(), out, lines)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    for (origin, snippet, out, lines) in results {
        let ran: Vec<serde_json::Value> = lines
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        calls += ran.len();
        if out.status.code() == Some(2) {
            failures.push(format!(
                "{origin}: bash could not run it: {}\n{snippet}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        for r in &ran {
            if r["accepted"] != true {
                failures.push(format!(
                    "{origin}: the AWS CLI refused\n  aws {}\n{}",
                    r["args"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|a| a.as_str().unwrap())
                        .collect::<Vec<_>>()
                        .join(" "),
                    r["said"].as_str().unwrap()
                ));
            }
        }
        let expected = aws_calls(&snippet);
        if ran.len() < expected {
            failures.push(format!(
                "{origin}: {expected} aws commands written, {} ran:\n{snippet}",
                ran.len()
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(
        failures.is_empty(),
        "{} of the course's AWS CLI commands fail as written:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // Both tracks show most blocks, so this counts each command once per track it appears on.
    assert!(
        calls >= 100,
        "only {calls} AWS CLI commands ran: are the shell blocks marked ```sh?"
    );
    println!(
        "{calls} AWS CLI commands ({} snippets, {} files) accepted by awscli {version}",
        course.snippets.len(),
        course.files.len()
    );
}

#[test]
fn placeholders_are_filled_as_whole_words() {
    assert_eq!(
        fill("--group-id SG_APP --source-group SG_ALB VPC_ID HTTP_301 CHOOSE-ONE"),
        "--group-id sg-0123456789abcdef0 --source-group sg-0123456789abcdef1 VPC_ID HTTP_301 CHOOSE-ONE"
    );
    assert_eq!(
        aws_calls("aws a \\\n  --b\nid=$(aws c) && aws d # aws e\n# aws f\n"),
        3
    );
    assert!(!calls_aws("# aws commented"));
}

/// Whether a shell snippet calls the AWS CLI or curl.
fn calls_a_service(snippet: &str) -> bool {
    snippet.lines().any(|l| {
        let l = l.trim_start();
        calls_aws(l) || l.starts_with("curl ") || l.contains("$(curl ")
    })
}

#[test]
fn every_command_the_local_track_shows_runs_as_shown_against_a_lab() {
    let dir = scratch("local-commands");
    let state = dir.join("lab");
    let (mut lab, _) = lab_process::start_lab(&state);
    let info = cognito_learning_contract::lab::read_running(&state).unwrap();
    let vars = cognito_learning::target::Target::local(&info).vars;
    let (all, errors) = lessons::load(Some(&Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")));
    assert!(errors.is_empty(), "{errors:?}");

    let mut snippets = Vec::new();
    for lesson in &all {
        for step in &lesson.steps {
            let at = format!("{} › {}", lesson.id, step.title);
            let text = render(&step.text_on(Track::Local, false), &vars).unwrap();
            for (info, body) in fences(&text) {
                if info == "sh" && calls_a_service(&body) {
                    snippets.push((format!("{at}: a shell block"), body));
                }
            }
            for (_, check) in step.checks_on(Track::Local) {
                let command = render(&check.command, &vars).unwrap();
                if calls_a_service(&command) {
                    snippets.push((format!("{at}: check {:?}", check.name), command));
                }
            }
        }
    }
    let mut failures = Vec::new();
    for (at, snippet) in &snippets {
        // A placeholder left for the learner to fill belongs to the cloud track.
        if fill(snippet) != *snippet {
            failures.push(format!(
                "{at}: a placeholder on the local track:\n{snippet}"
            ));
            continue;
        }
        let script = format!(
            "set -euo pipefail\naws() {{ {} -m awscli \"$@\"; }}\n{snippet}",
            python()
        );
        let mut cmd = learner::shell(&state, &script);
        cmd.current_dir(&dir);
        let out = cmd.output().unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{at}: exit {:?}\n{snippet}\n{}{}",
                out.status.code(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let _ = lab.kill();
    let _ = lab.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        snippets.len() > 30,
        "only {} commands found",
        snippets.len()
    );
}

/// The values of `flag` (`--deployment-group-name X`) wherever lesson 7's text passes it.
fn flag_values(text: &str, flag: &str) -> Vec<String> {
    text.split(flag)
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|v| v.trim_matches(['\'', '"']).to_owned())
        .collect()
}

/// One name each for the CodeDeploy application and deployment group, in the pipeline's Deploy
/// action, the CloudFormation template and lesson 7's commands: CodePipeline's Deploy stage
/// fails on a group that does not exist.
#[test]
fn the_pipeline_the_template_and_lesson_7_name_the_same_application_and_group() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let pipeline: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("deploy/pipeline.json")).unwrap())
            .unwrap();
    let deploy = pipeline["pipeline"]["stages"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["actions"].as_array().unwrap())
        .find(|a| a["actionTypeId"]["provider"] == "CodeDeploy")
        .expect("a CodeDeploy action");
    let app = deploy["configuration"]["ApplicationName"].as_str().unwrap();
    let group = deploy["configuration"]["DeploymentGroupName"]
        .as_str()
        .unwrap();

    // The template's DeploymentGroup names its group, and its application by a !Ref to the
    // Application resource, which names it.
    let template = std::fs::read_to_string(root.join("deploy/cloudformation.yml")).unwrap();
    let value = |key: &str| -> Vec<String> {
        template
            .lines()
            .filter_map(|l| l.trim().strip_prefix(key))
            .map(|v| v.trim().to_owned())
            .collect()
    };
    assert_eq!(
        value("DeploymentGroupName:"),
        [group],
        "the template's group"
    );
    assert!(
        value("ApplicationName:").contains(&app.to_owned()),
        "the template's application: {:?}",
        value("ApplicationName:")
    );

    let (all, errors) = lessons::load(Some(&root.join("lessons")));
    assert!(errors.is_empty(), "{errors:?}");
    let lesson = all.iter().find(|l| l.id.starts_with("07")).unwrap();
    let mut text = String::new();
    for step in &lesson.steps {
        text += &step.text_on(Track::Cloud, false);
        for (_, c) in step.checks_on(Track::Cloud) {
            text += " ";
            text += &c.command;
        }
    }
    let groups = flag_values(&text, "--deployment-group-name");
    let apps = flag_values(&text, "--application-name");
    assert!(
        !groups.is_empty() && !apps.is_empty(),
        "lesson 7 names them"
    );
    assert!(groups.iter().all(|g| g == group), "lesson 7: {groups:?}");
    assert!(apps.iter().all(|a| a == app), "lesson 7: {apps:?}");
}
