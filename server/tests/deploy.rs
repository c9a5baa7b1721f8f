#![allow(clippy::unwrap_used)]
//! The deploy files: `appspec.yml` against CodeDeploy's documented structure, the hook scripts
//! through shellcheck, and a whole deployment run in a scratch root the way CodeDeploy runs it
//! (stop, before-install, copy the files, after-install, start, validate), twice, on the
//! revision that `deploy/buildspec.yml`'s own commands stage, with the real server binary.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// YAML as JSON, read by PyYAML (installed with moto by scripts/test).
fn yaml(path: &Path) -> serde_json::Value {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// CodeDeploy's lifecycle events for EC2/On-Premises deployments that may run scripts, in order
/// (DownloadBundle and Install are reserved for the agent).
const EVENTS: &[&str] = &[
    "ApplicationStop",
    "BeforeInstall",
    "AfterInstall",
    "ApplicationStart",
    "ValidateService",
    "BeforeBlockTraffic",
    "AfterBlockTraffic",
    "BeforeAllowTraffic",
    "AfterAllowTraffic",
];

#[test]
fn appspec_follows_the_documented_structure() {
    let spec = yaml(&repo().join("appspec.yml"));
    assert_eq!(spec["version"], 0.0);
    assert_eq!(spec["os"], "linux");
    let behaviour = spec["file_exists_behavior"].as_str().unwrap();
    assert!(["DISALLOW", "OVERWRITE", "RETAIN"].contains(&behaviour));
    for f in spec["files"].as_array().unwrap() {
        let src = f["source"].as_str().unwrap();
        let dst = f["destination"].as_str().unwrap();
        assert!(dst.starts_with('/'), "{dst} must be absolute");
        assert!(!src.starts_with('/'), "{src} is relative to the revision");
    }
    let hooks = spec["hooks"].as_object().unwrap();
    for (event, list) in hooks {
        assert!(
            EVENTS.contains(&event.as_str()),
            "{event} is not a lifecycle event"
        );
        for h in list.as_array().unwrap() {
            let location = h["location"].as_str().unwrap();
            let path = repo().join(location);
            assert!(path.is_file(), "{location} is missing");
            let mode =
                std::os::unix::fs::PermissionsExt::mode(&path.metadata().unwrap().permissions());
            assert!(mode & 0o111 != 0, "{location} is not executable");
            let timeout = h["timeout"].as_u64().unwrap();
            assert!((1..=3600).contains(&timeout), "{event}: timeout {timeout}");
            assert_eq!(h["runas"], "root");
        }
    }
    for needed in [
        "ApplicationStop",
        "BeforeInstall",
        "AfterInstall",
        "ApplicationStart",
        "ValidateService",
    ] {
        assert!(hooks.contains_key(needed), "no {needed} hook");
    }
}

#[test]
fn buildspec_follows_the_documented_structure() {
    let spec = yaml(&repo().join("deploy/buildspec.yml"));
    assert_eq!(spec["version"], 0.2);
    for phase in spec["phases"].as_object().unwrap().keys() {
        assert!(
            ["install", "pre_build", "build", "post_build"].contains(&phase.as_str()),
            "{phase}"
        );
    }
    assert_eq!(spec["artifacts"]["base-directory"], "dist");
    assert!(
        spec["artifacts"].get("discard-paths").is_none(),
        "it would flatten the layout"
    );
}

/// The build installs the toolchain `rust-toolchain.toml` pins, which is at least the
/// workspace's `rust-version` (a CodeBuild image's own Rust can be older), and caches it with
/// the crates and `target/`.
#[test]
fn the_build_installs_the_pinned_toolchain_and_caches_the_build() {
    let spec = yaml(&repo().join("deploy/buildspec.yml"));
    let install = spec["phases"]["install"]["commands"].as_array().unwrap();
    let cmd = install
        .iter()
        .filter_map(|c| c.as_str())
        .find(|c| c.starts_with("rustup toolchain install"))
        .expect("the install phase installs the pinned toolchain");
    // The version the command installs, as bash expands it in the repository's root.
    let echoed = cmd.replacen("rustup toolchain install", "echo", 1);
    let out = Command::new("bash")
        .current_dir(repo())
        .args(["-c", &echoed])
        .output()
        .unwrap();
    let installed = String::from_utf8(out.stdout).unwrap();
    let version = installed.split_whitespace().next().unwrap_or_default();
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().unwrap()).collect() };
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let wanted = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        parse(version) >= parse(wanted),
        "installs {version:?}, the workspace needs {wanted}"
    );
    let cached: Vec<&str> = spec["cache"]["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str())
        .collect();
    for path in [
        "target/**/*",
        "/root/.rustup/toolchains/**/*",
        "/root/.cargo/registry/**/*",
    ] {
        assert!(cached.contains(&path), "{path} not cached: {cached:?}");
    }
}

#[test]
fn hook_scripts_pass_shellcheck() {
    let hooks: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy/hooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let out = Command::new("shellcheck")
        .current_dir(repo())
        .args(["--external-sources", "--severity=style"])
        .args(&hooks)
        .output()
        .expect("shellcheck is installed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Stages a revision with the buildspec's own post_build commands, the real binary standing in
/// for the release build.
fn stage(work: &Path) -> PathBuf {
    let repo = repo();
    std::fs::create_dir_all(work.join("target/release")).unwrap();
    std::fs::copy(repo.join("appspec.yml"), work.join("appspec.yml")).unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(repo.join("deploy"))
        .arg(work)
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::copy(
        env!("CARGO_BIN_EXE_cognito-learning-server"),
        work.join("target/release/cognito-learning-server"),
    )
    .unwrap();
    let spec = yaml(&repo.join("deploy/buildspec.yml"));
    for cmd in spec["phases"]["post_build"]["commands"].as_array().unwrap() {
        let out = Command::new("bash")
            .args(["-c", cmd.as_str().unwrap()])
            .current_dir(work)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    work.join("dist")
}

/// One deployment of `revision` into `root`, as the CodeDeploy agent runs it.
fn deploy(revision: &Path, previous: Option<&Path>, root: &Path, port: u16) {
    let spec = yaml(&revision.join("appspec.yml"));
    let run = |bundle: &Path, event: &str| {
        for h in spec["hooks"][event].as_array().unwrap() {
            let out = Command::new(bundle.join(h["location"].as_str().unwrap()))
                .env("COGNITO_LEARNING_ROOT", root)
                .env("COGNITO_LEARNING_PORT", port.to_string())
                .env("COGNITO_LEARNING_LISTEN", format!("127.0.0.1:{port}"))
                .env("COGNITO_LEARNING_CLOUDWATCH", "off")
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{event} failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    // ApplicationStop runs from the revision deployed before, if any.
    if let Some(p) = previous {
        run(p, "ApplicationStop");
    }
    run(revision, "BeforeInstall");
    for f in spec["files"].as_array().unwrap() {
        let src = revision.join(f["source"].as_str().unwrap());
        let dst = root.join(f["destination"].as_str().unwrap().trim_start_matches('/'));
        std::fs::create_dir_all(&dst).unwrap();
        std::fs::copy(&src, dst.join(src.file_name().unwrap())).unwrap();
    }
    run(revision, "AfterInstall");
    run(revision, "ApplicationStart");
    run(revision, "ValidateService");
}

#[test]
fn a_staged_revision_deploys_twice_serves_and_stops() {
    let scratch = std::env::temp_dir().join(format!("cl-deploy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let root = scratch.join("root");
    let first = stage(&scratch.join("build-1"));
    let second = stage(&scratch.join("build-2"));
    let port = free_port();

    deploy(&first, None, &root, port);
    let app = root.join("opt/cognito-learning");
    assert!(app.join("bin/cognito-learning-server").is_file());
    assert!(
        root.join("etc/systemd/system/cognito-learning-server.service")
            .is_file()
    );
    assert!(root.join("etc/cognito-learning/server.env").is_file());
    let pid1 = std::fs::read_to_string(app.join("server.pid")).unwrap();

    // The learner's settings survive a redeploy.
    std::fs::write(root.join("etc/cognito-learning/server.env"), "# mine\n").unwrap();
    deploy(&second, Some(&first), &root, port);
    let pid2 = std::fs::read_to_string(app.join("server.pid")).unwrap();
    assert_ne!(
        pid1, pid2,
        "the first server was stopped and a new one started"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("etc/cognito-learning/server.env")).unwrap(),
        "# mine\n"
    );

    // After a failed deployment CodeDeploy skips the next one's ApplicationStop: the start
    // hook must still replace the server that runs, not leave it answering.
    deploy(&first, None, &root, port);
    let pid3 = std::fs::read_to_string(app.join("server.pid")).unwrap();
    assert_ne!(pid2, pid3, "a new server");
    assert!(
        !Path::new(&format!("/proc/{}", pid2.trim())).exists(),
        "the old server was stopped though ApplicationStop did not run"
    );

    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&app), 0o750);
    assert_eq!(mode(&app.join("bin/cognito-learning-server")), 0o755);
    assert_eq!(mode(&app.join("server.log")), 0o600);
    verify_unit(&root);

    let stop = Command::new(second.join("deploy/hooks/stop.sh"))
        .env("COGNITO_LEARNING_ROOT", &root)
        .status()
        .unwrap();
    assert!(stop.success());
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server is stopped"
    );
    let log = std::fs::read_to_string(app.join("server.log")).unwrap();
    assert!(
        log.contains(r#""path":"/v1/public""#),
        "validate's requests are logged"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn the_cloudformation_template_passes_cfn_lint() {
    let out = Command::new("cfn-lint")
        .arg(repo().join("deploy/cloudformation.yml"))
        .output()
        .expect("cfn-lint is installed (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The outputs are the guide's cloud-track settings.
    // Read as text: its `!Ref` tags are not plain YAML (cfn-lint parsed it above).
    let template = std::fs::read_to_string(repo().join("deploy/cloudformation.yml")).unwrap();
    for output in [
        "Site",
        "CognitoDomain",
        "UserPoolId",
        "ClientId",
        "AlbArn",
        "Instance",
    ] {
        assert!(
            template.contains(&format!("  {output}:")),
            "no output {output}"
        );
    }
}

/// `systemd-analyze verify` on the unit the hooks installed in `root` (offline: it checks the
/// unit's sections and keys, and that ExecStart is an executable), with the unit's paths moved
/// into `root`, where the deployment put the binary. A warning fails it as an error would.
fn verify_unit(root: &Path) {
    let unit =
        std::fs::read_to_string(root.join("etc/systemd/system/cognito-learning-server.service"))
            .unwrap();
    let r = root.display().to_string();
    let moved = unit
        .replace(
            "/opt/cognito-learning",
            &format!("{r}/opt/cognito-learning"),
        )
        .replace(
            "/etc/cognito-learning",
            &format!("{r}/etc/cognito-learning"),
        );
    let dir = root.join("verify");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("cognito-learning-server.service");
    std::fs::write(&path, moved).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze is installed (scripts/test installs systemd)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
}

/// The CloudFormation template as JSON, each short-form function (`!Ref X`) read as its long
/// form (`{"Ref": "X"}`).
fn template() -> serde_json::Value {
    const READ: &str = r#"
import json, sys, yaml
class Loader(yaml.SafeLoader):
    pass
def function(loader, suffix, node):
    name = suffix if suffix == "Ref" else "Fn::" + suffix
    if isinstance(node, yaml.ScalarNode):
        return {name: loader.construct_scalar(node)}
    if isinstance(node, yaml.SequenceNode):
        return {name: loader.construct_sequence(node, deep=True)}
    return {name: loader.construct_mapping(node, deep=True)}
Loader.add_multi_constructor("!", function)
print(json.dumps(yaml.load(open(sys.argv[1]), Loader=Loader)))
"#;
    let out = Command::new("python3")
        .args(["-c", READ])
        .arg(repo().join("deploy/cloudformation.yml"))
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What a real account would do with the template, read from it: no group mixes inline and
/// standalone rules (an update to the inline ones drops the others), the ALB's egress is only
/// what it needs, the instance reads two buckets and no others, its settings exist before the
/// CodeDeploy agent can start a deployment, and managed login has its style.
#[test]
fn the_template_keeps_rules_roles_and_start_up_in_a_safe_order() {
    let t = template();
    let resources = t["Resources"].as_object().unwrap();
    let of_type = |ty: &str| -> Vec<(&String, &serde_json::Value)> {
        resources.iter().filter(|(_, r)| r["Type"] == ty).collect()
    };
    let standalone: Vec<&serde_json::Value> = [
        "AWS::EC2::SecurityGroupIngress",
        "AWS::EC2::SecurityGroupEgress",
    ]
    .iter()
    .flat_map(|ty| of_type(ty))
    .map(|(_, r)| &r["Properties"]["GroupId"]["Ref"])
    .collect();
    for (name, group) in of_type("AWS::EC2::SecurityGroup") {
        let p = &group["Properties"];
        let inline =
            p.get("SecurityGroupIngress").is_some() || p.get("SecurityGroupEgress").is_some();
        let referred = standalone.iter().any(|g| g.as_str() == Some(name));
        assert!(
            !(inline && referred),
            "{name} has inline and standalone rules"
        );
    }
    let alb_egress = resources["AlbSecurityGroup"]["Properties"]["SecurityGroupEgress"]
        .as_array()
        .expect("the ALB's egress is inline, replacing the default allow-all rule");
    let ports: Vec<u64> = alb_egress
        .iter()
        .filter_map(|r| r["FromPort"].as_u64())
        .collect();
    assert_eq!(ports, [443, 5000]);

    let role = &resources["InstanceRole"]["Properties"];
    let managed = serde_json::to_string(&role["ManagedPolicyArns"]).unwrap();
    assert!(
        !managed.contains("AmazonEC2RoleforAWSCodeDeploy"),
        "{managed}"
    );
    let buckets: Vec<String> = role["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .filter(|s| {
            let a = serde_json::to_string(&s["Action"]).unwrap();
            a.contains("s3:")
        })
        .flat_map(|s| match &s["Resource"] {
            serde_json::Value::Array(a) => a.clone(),
            r => vec![r.clone()],
        })
        .map(|r| r["Fn::Sub"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert!(!buckets.is_empty());
    for b in &buckets {
        assert!(
            b.contains(":s3:::${ArtifactBucket}")
                || b.contains(":s3:::aws-codedeploy-${AWS::Region}/*"),
            "the instance may read {b}"
        );
    }

    let user_data = resources["Instance"]["Properties"]["UserData"]["Fn::Base64"]["Fn::Sub"]
        .as_str()
        .unwrap();
    let settings = user_data.find("server.env").unwrap();
    let agent = user_data.find("./install auto").unwrap();
    assert!(
        settings < agent,
        "server.env is written before the agent starts"
    );

    let domain = &resources["UserPoolDomain"]["Properties"];
    assert_eq!(domain["ManagedLoginVersion"], 2, "set explicitly");
    assert!(
        of_type("AWS::Cognito::ManagedLoginBranding").len() == 1,
        "managed login pages need a style"
    );
}
