//! SSM for the lab's one instance: a stand-in for an Amazon Linux 2023 EC2 instance that runs
//! the app.
//!
//! `DescribeInstanceInformation` says `Online` while the app answers and `ConnectionLost` when
//! it does not. `SendCommand` runs `AWS-RunShellScript` only for the read-only checks in
//! [`ALLOWED`], which this project defines; their output comes from the lab's real state (the
//! app's HTTP status, its log), and no text from a request is ever executed.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::ApiError;
use cognito_learning_tokens::time::now_millis;

pub use cognito_learning_contract::ssm::{ALLOWED, IMDS_PUBLIC_IPV4, INSTANCE_ID};
const OS_RELEASE: &str = "NAME=\"Amazon Linux\"\nVERSION=\"2023\"\nID=\"amzn\"\nID_LIKE=\"fedora\"\nVERSION_ID=\"2023\"\nPLATFORM_ID=\"platform:al2023\"\nPRETTY_NAME=\"Amazon Linux 2023\"\n";

#[derive(Debug, Clone)]
struct Invocation {
    command_id: String,
    comment: String,
    requested: f64,
    status: &'static str,
    code: i64,
    stdout: String,
    stderr: String,
}

#[derive(Debug)]
pub struct Ssm {
    /// The app's base URL (what `localhost:5000` means on the lab's instance).
    app: String,
    app_log: std::path::PathBuf,
    invocations: Mutex<BTreeMap<String, Invocation>>,
    http: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Empty<bytes::Bytes>,
    >,
}

fn secs(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

fn invalid(code: &'static str, msg: impl Into<String>) -> ApiError {
    ApiError::new(code, msg)
}

impl Ssm {
    pub fn new(app: &str, app_log: std::path::PathBuf) -> Self {
        Self {
            app: app.trim_end_matches('/').to_owned(),
            app_log,
            invocations: Mutex::default(),
            http: hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http(),
        }
    }

    pub async fn call(&self, op: &str, req: &Map<String, Value>) -> Result<Value, ApiError> {
        match op {
            "DescribeInstanceInformation" => self.describe(req).await,
            "SendCommand" => self.send(req).await,
            "GetCommandInvocation" => self.get(req),
            "ListCommandInvocations" => self.list(req),
            _ => Err(ApiError::unknown_operation(op)),
        }
    }

    /// The app's HTTP status for `/v1/public`, or `None` when it does not answer.
    async fn app_status(&self) -> Option<u16> {
        let uri: http::Uri = format!("{}/v1/public", self.app).parse().ok()?;
        let call = self.http.get(uri);
        match tokio::time::timeout(Duration::from_secs(2), call).await {
            Ok(Ok(resp)) => Some(resp.status().as_u16()),
            _ => None,
        }
    }

    async fn describe(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        if let Some(max) = req.get("MaxResults").and_then(Value::as_i64)
            && !(5..=50).contains(&max)
        {
            return Err(invalid(
                "ValidationException",
                "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value between 5 and 50",
            ));
        }
        let online = self.app_status().await.is_some();
        let ping = if online { "Online" } else { "ConnectionLost" };
        // Filters: every filter must hold; values within one filter are alternatives.
        let filters = req
            .get("Filters")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for f in &filters {
            let key = f["Key"].as_str().unwrap_or_default();
            let values: Vec<&str> = f["Values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let actual = match key {
                "InstanceIds" => INSTANCE_ID,
                "PingStatus" => ping,
                "PlatformTypes" => "Linux",
                "ResourceType" => "EC2Instance",
                "AgentVersion" => "3.3.3050.0",
                _ => {
                    return Err(invalid(
                        "InvalidFilterKey",
                        format!("{key} is not a filter the lab knows"),
                    ));
                }
            };
            if !values.contains(&actual) {
                return Ok(json!({"InstanceInformationList": []}));
            }
        }
        let now = secs(now_millis());
        Ok(json!({"InstanceInformationList": [{
            "InstanceId": INSTANCE_ID,
            "PingStatus": ping,
            "LastPingDateTime": if online { now } else { now - 600.0 },
            "AgentVersion": "3.3.3050.0",
            "IsLatestVersion": true,
            "PlatformType": "Linux",
            "PlatformName": "Amazon Linux",
            "PlatformVersion": "2023",
            "ResourceType": "EC2Instance",
            "IPAddress": "10.0.2.15",
            "ComputerName": "ip-10-0-2-15.eu-west-1.compute.internal",
            "AssociationStatus": "Success",
            "SourceId": INSTANCE_ID,
            "SourceType": "AWS::EC2::Instance",
        }]}))
    }

    async fn send(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        if req.get("DocumentName").and_then(Value::as_str) != Some("AWS-RunShellScript") {
            return Err(invalid(
                "InvalidDocument",
                "the lab's instance runs AWS-RunShellScript only",
            ));
        }
        let ids: Vec<&str> = req
            .get("InstanceIds")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if ids != [INSTANCE_ID] {
            return Err(invalid(
                "InvalidInstanceId",
                format!("the lab has one instance, {INSTANCE_ID}"),
            ));
        }
        let commands: Vec<&str> = req["Parameters"]["commands"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let [command] = commands[..] else {
            return Err(invalid(
                "InvalidParameters",
                "send one command from the lab's list",
            ));
        };
        if !ALLOWED.iter().any(|(c, _)| *c == command) {
            let list: Vec<&str> = ALLOWED.iter().map(|(c, _)| *c).collect();
            return Err(invalid(
                "InvalidParameters",
                format!(
                    "the lab's instance runs only its own read-only checks: {}",
                    list.join(" | ")
                ),
            ));
        }
        let (code, stdout, stderr) = self.run(command).await;
        let id = crate::state::uuid();
        let inv = Invocation {
            command_id: id.clone(),
            comment: req
                .get("Comment")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            requested: secs(now_millis()),
            status: if code == 0 { "Success" } else { "Failed" },
            code,
            stdout,
            stderr,
        };
        let out = json!({"Command": {
            "CommandId": id, "DocumentName": "AWS-RunShellScript", "DocumentVersion": "$DEFAULT",
            "Comment": inv.comment, "Parameters": {"commands": [command]}, "InstanceIds": [INSTANCE_ID],
            "Targets": [], "RequestedDateTime": inv.requested, "Status": "Pending", "StatusDetails": "Pending",
            "TargetCount": 1, "CompletedCount": 0, "ErrorCount": 0, "DeliveryTimedOutCount": 0,
            "TimeoutSeconds": req.get("TimeoutSeconds").cloned().unwrap_or(json!(3600)),
        }});
        if let Ok(mut m) = self.invocations.lock() {
            m.insert(inv.command_id.clone(), inv);
        }
        Ok(out)
    }

    /// What an allowlisted command prints on the lab's instance: `(exit code, stdout, stderr)`.
    async fn run(&self, command: &str) -> (i64, String, String) {
        let status = self.app_status().await;
        match command {
            "cat /etc/os-release" => (0, OS_RELEASE.into(), String::new()),
            "systemctl is-active cognito-learning-server" => match status {
                Some(_) => (0, "active\n".into(), String::new()),
                None => (3, "inactive\n".into(), String::new()),
            },
            c if c.ends_with("http://localhost:5000/v1/public") => match status {
                Some(s) => (0, s.to_string(), String::new()),
                None => (
                    7,
                    "000".into(),
                    "curl: (7) Failed to connect to localhost port 5000: Connection refused\n"
                        .into(),
                ),
            },
            c if c.starts_with("tail -n 20 ") => match std::fs::read_to_string(&self.app_log) {
                Ok(text) => {
                    let lines: Vec<&str> = text.lines().collect();
                    (
                        0,
                        lines[lines.len().saturating_sub(20)..].join("\n") + "\n",
                        String::new(),
                    )
                }
                Err(e) => (
                    1,
                    String::new(),
                    format!(
                        "tail: cannot open '/opt/cognito-learning/server.log' for reading: {e}\n"
                    ),
                ),
            },
            // The lab has no internet and no NAT gateway: it answers as a working one would.
            c if c.ends_with("https://aws.amazon.com") => (0, "200".into(), String::new()),
            // The lab's instance stands in a private subnet: no public address.
            IMDS_PUBLIC_IPV4 => (0, "404".into(), String::new()),
            // The lab deploys its app itself; the agent's place is taken by the lab.
            "systemctl is-active codedeploy-agent" => (0, "active\n".into(), String::new()),
            _ => (1, String::new(), "not an allowed command\n".into()),
        }
    }

    fn get(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = req
            .get("CommandId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let instance = req
            .get("InstanceId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let m = self.invocations.lock().map_err(|_| ApiError::internal())?;
        let inv = m
            .get(id)
            .filter(|_| instance == INSTANCE_ID)
            .ok_or_else(|| invalid("InvocationDoesNotExist", ""))?;
        Ok(json!({
            "CommandId": inv.command_id, "InstanceId": INSTANCE_ID, "Comment": inv.comment,
            "DocumentName": "AWS-RunShellScript", "DocumentVersion": "$DEFAULT", "PluginName": "aws:runShellScript",
            "ResponseCode": inv.code, "ExecutionStartDateTime": "", "ExecutionElapsedTime": "PT0.01S",
            "Status": inv.status, "StatusDetails": inv.status,
            "StandardOutputContent": inv.stdout, "StandardOutputUrl": "",
            "StandardErrorContent": inv.stderr, "StandardErrorUrl": "",
            "CloudWatchOutputConfig": {"CloudWatchLogGroupName": "", "CloudWatchOutputEnabled": false},
        }))
    }

    fn list(&self, req: &Map<String, Value>) -> Result<Value, ApiError> {
        let id = req.get("CommandId").and_then(Value::as_str);
        let details = req.get("Details").and_then(Value::as_bool).unwrap_or(false);
        let m = self.invocations.lock().map_err(|_| ApiError::internal())?;
        let list: Vec<Value> = m
            .values()
            .filter(|i| id.is_none_or(|c| c == i.command_id))
            .map(|i| {
                let mut v = json!({
                    "CommandId": i.command_id, "InstanceId": INSTANCE_ID, "InstanceName": "",
                    "Comment": i.comment, "DocumentName": "AWS-RunShellScript", "DocumentVersion": "$DEFAULT",
                    "RequestedDateTime": i.requested, "Status": i.status, "StatusDetails": i.status,
                    "StandardOutputUrl": "", "StandardErrorUrl": "", "CommandPlugins": [],
                });
                if details {
                    v["CommandPlugins"] = json!([{
                        "Name": "aws:runShellScript", "Status": i.status, "StatusDetails": i.status,
                        "ResponseCode": i.code, "Output": i.stdout,
                    }]);
                }
                v
            })
            .collect();
        Ok(json!({"CommandInvocations": list}))
    }
}
