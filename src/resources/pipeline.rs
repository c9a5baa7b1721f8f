//! The CodePipeline pipeline: its build stage, and the deployment of its last run.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::common::*;

/// A pipeline's definition, and the action of the given provider in it.
pub(super) async fn pipeline(a: &Account, name: &str) -> Result<Value, String> {
    a.json(&CODEPIPELINE, "GetPipeline", json!({ "name": name }))
        .await
        .map_err(|e| {
            if e.starts_with("PipelineNotFoundException") {
                format!("there is no pipeline {name}")
            } else {
                e
            }
        })
}

/// The stage index and action of the first action by `provider`.
pub(super) fn action<'a>(pipeline: &'a Value, provider: &str) -> Option<(usize, &'a Value)> {
    let stages = pipeline["pipeline"]["stages"].as_array()?;
    stages.iter().enumerate().find_map(|(i, s)| {
        s["actions"]
            .as_array()?
            .iter()
            .find(|a| a["actionTypeId"]["provider"] == provider)
            .map(|a| (i, a))
    })
}

/// Lesson 7: a V2 pipeline whose stages are source (CodeConnections), build (CodeBuild) and
/// deploy (CodeDeploy), in that order, and whose build project's latest build succeeded.
pub async fn pipeline_builds(a: &Account, name: &str) -> Res {
    let p = pipeline(a, name).await?;
    let kind = p["pipeline"]["pipelineType"].as_str().unwrap_or("V1");
    if kind != "V2" {
        return Err(format!(
            "{name} is a {kind} pipeline: create it as V2 (billed per action minute)"
        ));
    }
    let stages = [
        (
            "CodeStarSourceConnection",
            "a source action on a CodeConnections connection",
        ),
        (
            "CodeBuild",
            "a CodeBuild build action (without it, CodeDeploy gets source, not a binary)",
        ),
        ("CodeDeploy", "a CodeDeploy deploy action"),
    ];
    let mut last = None;
    let mut build = &Value::Null;
    for (provider, what) in stages {
        let Some((i, found)) = action(&p, provider) else {
            return Err(format!("{name} has no {what}"));
        };
        if last.is_some_and(|l| i < l) {
            return Err(format!(
                "{name} runs its {provider} action before the stage it needs"
            ));
        }
        last = Some(i);
        if provider == "CodeBuild" {
            build = found;
        }
    }
    let project = build["configuration"]["ProjectName"]
        .as_str()
        .ok_or_else(|| format!("{name}'s build action names no ProjectName"))?;
    // Newest first is the default; AWS documents an error with sortOrder on a project of more
    // than 100 builds.
    let ids = a
        .json(
            &CODEBUILD,
            "ListBuildsForProject",
            json!({ "projectName": project }),
        )
        .await?;
    let Some(id) = ids["ids"].get(0).and_then(Value::as_str) else {
        return Err(format!(
            "{project} has not built yet: push to the fork, or Release change on the pipeline"
        ));
    };
    let builds = a
        .json(&CODEBUILD, "BatchGetBuilds", json!({ "ids": [id] }))
        .await?;
    let build = &builds["builds"][0];
    let status = build["buildStatus"].as_str().unwrap_or("unknown");
    match status {
        "SUCCEEDED" => Ok(format!(
            "{name}: source → build ({project}) → deploy; the latest build succeeded"
        )),
        "IN_PROGRESS" => Err(format!(
            "{project}'s latest build is still running (phase {})",
            build["currentPhase"].as_str().unwrap_or("unknown")
        )),
        _ => {
            let failed = build["phases"].as_array().into_iter().flatten().find(|p| {
                matches!(
                    p["phaseStatus"].as_str(),
                    Some("FAILED" | "FAULT" | "TIMED_OUT" | "STOPPED")
                )
            });
            let mut why = format!("{project}'s latest build is {status}");
            if let Some(p) = failed {
                let _ = write!(
                    why,
                    " in phase {} ({}): {}",
                    p["phaseType"].as_str().unwrap_or("?"),
                    p["phaseStatus"].as_str().unwrap_or("?"),
                    p["contexts"][0]["message"]
                        .as_str()
                        .filter(|m| !m.is_empty())
                        .unwrap_or("see its log")
                );
            }
            Err(why)
        }
    }
}

/// Lesson 7: the latest deployment of the pipeline's CodeDeploy action succeeded.
pub async fn deployed(a: &Account, name: &str) -> Res {
    let p = pipeline(a, name).await?;
    let Some((_, deploy)) = action(&p, "CodeDeploy") else {
        return Err(format!("{name} has no CodeDeploy deploy action"));
    };
    let config = &deploy["configuration"];
    let (Some(app), Some(group)) = (
        config["ApplicationName"].as_str(),
        config["DeploymentGroupName"].as_str(),
    ) else {
        return Err(format!(
            "{name}'s deploy action names no ApplicationName and DeploymentGroupName"
        ));
    };
    let group_info = a
        .json(
            &CODEDEPLOY,
            "GetDeploymentGroup",
            json!({ "applicationName": app, "deploymentGroupName": group }),
        )
        .await
        .map_err(|e| {
            if e.starts_with("DeploymentGroupDoesNotExistException") {
                format!(
                    "there is no deployment group {group} in {app}: the pipeline's Deploy action names it, create it (lesson 7)"
                )
            } else {
                e
            }
        })?;
    // The group says which deployment it attempted last; ListDeployments' order is not
    // documented, so it is only the fallback (moto's groups do not say).
    let ids: Vec<Value> =
        match group_info["deploymentGroupInfo"]["lastAttemptedDeployment"]["deploymentId"].as_str()
        {
            Some(id) => vec![id.into()],
            None => a
                .json_pages(
                    &CODEDEPLOY,
                    "ListDeployments",
                    json!({ "applicationName": app, "deploymentGroupName": group }),
                    "nextToken",
                )
                .await?
                .iter()
                .flat_map(|p| p["deployments"].as_array().cloned().unwrap_or_default())
                .collect(),
        };
    if ids.is_empty() {
        return Err(format!("{app}/{group} has no deployments yet"));
    }
    // BatchGetDeployments takes 25 ids at a time.
    let mut described = Vec::new();
    for chunk in ids.chunks(25) {
        let got = a
            .json(
                &CODEDEPLOY,
                "BatchGetDeployments",
                json!({ "deploymentIds": chunk }),
            )
            .await?;
        described.extend(
            got["deploymentsInfo"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    let latest = described
        .iter()
        .max_by(|x, y| {
            let t = |d: &Value| d["createTime"].as_f64().unwrap_or(0.0);
            t(x).total_cmp(&t(y))
        })
        .ok_or_else(|| format!("CodeDeploy described none of {app}/{group}'s deployments"))?;
    let id = latest["deploymentId"].as_str().unwrap_or("?");
    match latest["status"].as_str().unwrap_or("unknown") {
        "Succeeded" => Ok(format!("{id} to {app}/{group} succeeded")),
        "Failed" | "Stopped" => Err(format!(
            "{id} to {app}/{group} {}: {}",
            latest["status"].as_str().unwrap_or_default().to_lowercase(),
            latest["errorInformation"]["message"]
                .as_str()
                .unwrap_or("see the deployment's events")
        )),
        other => Err(format!("{id} to {app}/{group} is {other}, not finished")),
    }
}
