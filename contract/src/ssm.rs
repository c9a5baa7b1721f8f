//! The lab's one instance as SSM shows it: its id, and the only shell commands its
//! `AWS-RunShellScript` stand-in runs (read-only checks this project defines). A lesson's
//! `ssm-command` check must use one of them to run on the local track.

pub const INSTANCE_ID: &str = "i-0c1a2b3c4d5e6f708";

/// Asks the instance metadata service (v2: a session token first) for the public IPv4 address
/// and prints only the HTTP status.
pub const IMDS_PUBLIC_IPV4: &str = "t=$(curl -s -X PUT -H \"X-aws-ec2-metadata-token-ttl-seconds: 60\" http://169.254.169.254/latest/api/token) && curl -s -o /dev/null -w %{http_code} -H \"X-aws-ec2-metadata-token: $t\" http://169.254.169.254/latest/meta-data/public-ipv4";

/// The commands the lab's instance will run, and what each checks. None holds a single quote, so
/// a lesson can show each inside the single-quoted JSON list that `aws ssm send-command
/// --parameters` takes.
pub const ALLOWED: &[(&str, &str)] = &[
    (
        "cat /etc/os-release",
        "the operating system (Amazon Linux 2023)",
    ),
    (
        "systemctl is-active cognito-learning-server",
        "whether the app's service is running",
    ),
    (
        "curl -s -o /dev/null -w %{http_code} http://localhost:5000/v1/public",
        "the app answering on port 5000",
    ),
    (
        "tail -n 20 /opt/cognito-learning/server.log",
        "the app's last log lines",
    ),
    (
        "curl -s -o /dev/null -w %{http_code} https://aws.amazon.com",
        "outbound internet through the NAT gateway",
    ),
    (
        IMDS_PUBLIC_IPV4,
        "whether the instance has a public IPv4 address (IMDSv2; 404 when it has none)",
    ),
    (
        "systemctl is-active codedeploy-agent",
        "whether the CodeDeploy agent is running",
    ),
];

/// Whether the lab's instance runs `command`.
pub fn allowed(command: &str) -> bool {
    ALLOWED.iter().any(|(c, _)| *c == command)
}
