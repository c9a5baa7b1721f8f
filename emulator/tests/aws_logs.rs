//! The real aws-sdk-cloudwatchlogs client against the lab's AWS API endpoint over loopback.
#![allow(clippy::unwrap_used)]

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata;
use aws_sdk_cloudwatchlogs::types::InputLogEvent;
use cognito_learning_emulator::{Lab, LabOptions};

async fn lab() -> Lab {
    Lab::start(LabOptions {
        state_dir: std::env::temp_dir().join(format!(
            "cl-aws-{}",
            cognito_learning_emulator::state::uuid()
        )),
        ..LabOptions::any_ports()
    })
    .await
    .unwrap()
}

fn client(lab: &Lab, key: &str, secret: &str) -> Client {
    let conf = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(lab.info.region.clone()))
        .endpoint_url(&lab.info.aws)
        .credentials_provider(Credentials::new(key, secret, None, None, "lab"))
        .build();
    Client::from_conf(conf)
}

fn lab_client(lab: &Lab) -> Client {
    client(
        lab,
        &lab.info.aws_access_key_id,
        &lab.info.aws_secret_access_key,
    )
}

fn ev(ts: i64, msg: &str) -> InputLogEvent {
    InputLogEvent::builder()
        .timestamp(ts)
        .message(msg)
        .build()
        .unwrap()
}

fn now_ms() -> i64 {
    cognito_learning_tokens::time::now_millis() as i64
}

#[tokio::test]
async fn groups_streams_and_events_round_trip_through_the_sdk() {
    let lab = lab().await;
    let c = lab_client(&lab);
    c.create_log_group()
        .log_group_name("sdk-test")
        .send()
        .await
        .unwrap();
    let dup = c
        .create_log_group()
        .log_group_name("sdk-test")
        .send()
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Some("ResourceAlreadyExistsException"));
    let bad = c
        .create_log_group()
        .log_group_name("aws/nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("InvalidParameterException"));
    let missing = c
        .create_log_stream()
        .log_group_name("nope")
        .log_stream_name("api")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("ResourceNotFoundException"));
    c.create_log_stream()
        .log_group_name("sdk-test")
        .log_stream_name("api")
        .send()
        .await
        .unwrap();
    let no_stream = c
        .put_log_events()
        .log_group_name("sdk-test")
        .log_stream_name("other")
        .log_events(ev(now_ms(), "x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        no_stream.message(),
        Some("The specified log stream does not exist.")
    );

    let t = now_ms();
    let events: Vec<InputLogEvent> = (0..25)
        .map(|i| {
            ev(
                t + i,
                &format!(
                    r#"{{"n":{i},"path":"/v1/{}"}}"#,
                    if i % 2 == 0 { "public" } else { "secrets" }
                ),
            )
        })
        .collect();
    let out = c
        .put_log_events()
        .log_group_name("sdk-test")
        .log_stream_name("api")
        .set_log_events(Some(events))
        .send()
        .await
        .unwrap();
    assert!(out.rejected_log_events_info().is_none());

    let groups = c
        .describe_log_groups()
        .log_group_name_prefix("sdk-")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.log_groups()[0].log_group_name(), Some("sdk-test"));
    let streams = c
        .describe_log_streams()
        .log_group_name("sdk-test")
        .send()
        .await
        .unwrap();
    assert_eq!(
        streams.log_streams()[0].last_event_timestamp(),
        Some(t + 24)
    );

    // GetLogEvents: newest first by default; at the end the same token comes back.
    let page = c
        .get_log_events()
        .log_group_name("sdk-test")
        .log_stream_name("api")
        .limit(10)
        .send()
        .await
        .unwrap();
    let ns: Vec<&str> = page.events().iter().map(|e| e.message().unwrap()).collect();
    assert!(
        ns[0].contains("\"n\":15") && ns[9].contains("\"n\":24"),
        "{ns:?}"
    );
    let mut token = page.next_forward_token().unwrap().to_owned();
    let end = c
        .get_log_events()
        .log_group_name("sdk-test")
        .log_stream_name("api")
        .next_token(&token)
        .start_from_head(true)
        .send()
        .await
        .unwrap();
    assert!(end.events().is_empty());
    assert_eq!(
        end.next_forward_token(),
        Some(token.as_str()),
        "the end of the stream returns the token sent"
    );
    // From the head, page by page, every event once.
    let mut seen = 0;
    token.clear();
    loop {
        let mut req = c
            .get_log_events()
            .log_group_name("sdk-test")
            .log_stream_name("api")
            .start_from_head(true)
            .limit(7);
        if !token.is_empty() {
            req = req.next_token(&token);
        }
        let p = req.send().await.unwrap();
        seen += p.events().len();
        let next = p.next_forward_token().unwrap().to_owned();
        if next == token {
            break;
        }
        token = next;
    }
    assert_eq!(seen, 25);

    // FilterLogEvents: oldest first, paged until no nextToken, with a JSON pattern.
    let mut found = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let p = c
            .filter_log_events()
            .log_group_name("sdk-test")
            .filter_pattern(r#"{ $.path = "/v1/secrets" }"#)
            .limit(4)
            .set_next_token(next.clone())
            .send()
            .await
            .unwrap();
        found.extend(
            p.events()
                .iter()
                .map(|e| (e.event_id().unwrap().to_owned(), e.timestamp().unwrap())),
        );
        next = p.next_token().map(str::to_owned);
        if next.is_none() {
            break;
        }
    }
    assert_eq!(found.len(), 12);
    assert!(found.windows(2).all(|w| w[0].1 < w[1].1), "oldest first");
    let ids: std::collections::HashSet<&String> = found.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), 12, "event ids are unique");
    lab.stop().await;
}

#[tokio::test]
async fn put_log_events_enforces_the_documented_limits() {
    let lab = lab().await;
    let c = lab_client(&lab);
    c.create_log_group()
        .log_group_name("g")
        .send()
        .await
        .unwrap();
    c.create_log_stream()
        .log_group_name("g")
        .log_stream_name("s")
        .send()
        .await
        .unwrap();
    let put = |events: Vec<InputLogEvent>| {
        c.put_log_events()
            .log_group_name("g")
            .log_stream_name("s")
            .set_log_events(Some(events))
            .send()
    };
    let t = now_ms();
    let err = put(vec![ev(t, "b"), ev(t - 1, "a")]).await.unwrap_err();
    assert_eq!(
        err.message(),
        Some("Log events in a single PutLogEvents request must be in chronological order.")
    );
    let big = "x".repeat(100_000);
    let err = put((0..11).map(|i| ev(t + i, &big)).collect())
        .await
        .unwrap_err();
    assert!(
        err.message().unwrap().starts_with("Upload too large"),
        "{err:?}"
    );
    let err = put(vec![ev(t - 23 * 3_600_000, "a"), ev(t, "b")]).await;
    assert!(err.is_ok(), "23 hours is within the span");
    let err = put(vec![ev(t - 25 * 3_600_000, "a"), ev(t, "b")])
        .await
        .unwrap_err();
    assert!(
        err.message()
            .unwrap()
            .contains("cannot span more than 24 hours")
    );
    // Too old and too new are rejected one by one; the rest are kept.
    let out = put(vec![
        ev(t - 15 * 86_400_000, "old"),
        ev(t, "ok"),
        ev(t + 3 * 3_600_000, "new"),
    ])
    .await
    .unwrap();
    let info = out.rejected_log_events_info().unwrap();
    assert_eq!(
        (
            info.too_old_log_event_end_index(),
            info.too_new_log_event_start_index()
        ),
        (Some(1), Some(2))
    );
    let kept = c
        .filter_log_events()
        .log_group_name("g")
        .filter_pattern("ok")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.events().len(), 1);
    lab.stop().await;
}

#[tokio::test]
async fn requests_must_be_signed_with_the_labs_credentials() {
    let lab = lab().await;
    let stranger = client(&lab, "AKIASTRANGER0000000", "whatever");
    let err = stranger.describe_log_groups().send().await.unwrap_err();
    assert_eq!(err.code(), Some("UnrecognizedClientException"));
    let wrong_secret = client(&lab, &lab.info.aws_access_key_id, "not-the-secret");
    let err = wrong_secret.describe_log_groups().send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidSignatureException"));
    let plain = reqwest::Client::new()
        .post(&lab.info.aws)
        .header("x-amz-target", "Logs_20140328.DescribeLogGroups")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status(), 400);
    assert!(
        plain
            .text()
            .await
            .unwrap()
            .contains("UnrecognizedClientException")
    );
    lab.stop().await;
}

/// Live Tail's `stream-` host prefix is for AWS's own hosts; the lab is reached at its address.
#[derive(Debug)]
struct LabHost;

impl aws_sdk_cloudwatchlogs::config::Intercept for LabHost {
    fn name(&self) -> &'static str {
        "LabHost"
    }

    fn modify_before_signing(
        &self,
        context: &mut aws_sdk_cloudwatchlogs::config::interceptors::BeforeTransmitInterceptorContextMut<'_>,
        _: &aws_sdk_cloudwatchlogs::config::RuntimeComponents,
        _: &mut aws_sdk_cloudwatchlogs::config::ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let request = context.request_mut();
        let uri = request.uri().replacen("://stream-", "://", 1);
        request.set_uri(uri)?;
        Ok(())
    }
}

/// Makes a group with one stream; the group's ARN, which StartLiveTail wants.
async fn group_with_stream(c: &Client, group: &str, stream: &str) -> String {
    c.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    c.create_log_stream()
        .log_group_name(group)
        .log_stream_name(stream)
        .send()
        .await
        .unwrap();
    c.describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .unwrap()
        .log_groups()[0]
        .log_group_arn()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn live_tail_streams_what_is_put_as_documented() {
    use aws_sdk_cloudwatchlogs::types::StartLiveTailResponseStream as Event;
    let lab = lab().await;
    let c = lab_client(&lab);
    let arn = group_with_stream(&c, "tail", "s1").await;
    c.create_log_group()
        .log_group_name("other")
        .send()
        .await
        .unwrap();
    let other = arn.replace(":log-group:tail", ":log-group:other");

    // The documented refusals: a name where an ARN belongs, a group that is not there, a
    // trailing `*`, stream names and prefixes together, stream names with two groups.
    let refused = |ids: Vec<&str>, names: Option<&str>, prefixes: Option<&str>| {
        let mut r = c
            .start_live_tail()
            .set_log_group_identifiers(Some(ids.into_iter().map(String::from).collect()));
        if let Some(n) = names {
            r = r.log_stream_names(n);
        }
        if let Some(p) = prefixes {
            r = r.log_stream_name_prefixes(p);
        }
        async move {
            let e = r.customize().interceptor(LabHost).send().await.unwrap_err();
            e.code().unwrap_or_default().to_owned()
        }
    };
    assert_eq!(
        refused(vec!["tail"], None, None).await,
        "InvalidParameterException"
    );
    let missing = arn.replace(":log-group:tail", ":log-group:nope");
    assert_eq!(
        refused(vec![&missing], None, None).await,
        "ResourceNotFoundException"
    );
    let starred = format!("{arn}:*");
    assert_eq!(
        refused(vec![&starred], None, None).await,
        "InvalidParameterException"
    );
    assert_eq!(
        refused(vec![&arn], Some("s1"), Some("s")).await,
        "InvalidParameterException"
    );
    assert_eq!(
        refused(vec![&arn, &other], Some("s1"), None).await,
        "InvalidParameterException"
    );

    let mut session = c
        .start_live_tail()
        .log_group_identifiers(&arn)
        .log_event_filter_pattern("-skip")
        .customize()
        .interceptor(LabHost)
        .send()
        .await
        .unwrap();
    let Some(Event::SessionStart(start)) = session.response_stream.recv().await.unwrap() else {
        panic!("the first event is not sessionStart");
    };
    assert_eq!(start.log_group_identifiers(), std::slice::from_ref(&arn));
    assert_eq!(start.log_event_filter_pattern(), Some("-skip"));
    assert!(!start.session_id().unwrap_or_default().is_empty());
    assert!(!start.request_id().unwrap_or_default().is_empty());

    // Nothing put yet: an update comes anyway, empty.
    let Some(Event::SessionUpdate(first)) = session.response_stream.recv().await.unwrap() else {
        panic!("no sessionUpdate");
    };
    assert!(first.session_results().is_empty());
    assert_eq!(first.session_metadata().map(|m| m.sampled()), Some(false));

    let t = now_ms();
    c.put_log_events()
        .log_group_name("tail")
        .log_stream_name("s1")
        .log_events(ev(t, "one"))
        .log_events(ev(t + 1, "skip me"))
        .log_events(ev(t + 2, "two"))
        .send()
        .await
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        let Some(Event::SessionUpdate(u)) = session.response_stream.recv().await.unwrap() else {
            panic!("no sessionUpdate");
        };
        for r in u.session_results() {
            assert_eq!(r.log_group_identifier(), Some(arn.as_str()));
            assert_eq!(r.log_stream_name(), Some("s1"));
            assert!(r.ingestion_time().unwrap() >= t);
            got.push((r.timestamp().unwrap(), r.message().unwrap().to_owned()));
        }
    }
    assert_eq!(got, [(t, "one".to_owned()), (t + 2, "two".to_owned())]);
}

/// More than 500 matching events in a second: the update carries 500 of them, spread over the
/// whole burst, and says it was sampled.
#[tokio::test]
async fn a_live_tail_update_past_500_events_is_a_sample() {
    use aws_sdk_cloudwatchlogs::types::StartLiveTailResponseStream as Event;
    let lab = lab().await;
    let c = lab_client(&lab);
    let arn = group_with_stream(&c, "burst", "s").await;
    let mut session = c
        .start_live_tail()
        .log_group_identifiers(&arn)
        .customize()
        .interceptor(LabHost)
        .send()
        .await
        .unwrap();
    let Some(Event::SessionStart(_)) = session.response_stream.recv().await.unwrap() else {
        panic!("the first event is not sessionStart");
    };
    let t = now_ms();
    let mut put = c
        .put_log_events()
        .log_group_name("burst")
        .log_stream_name("s");
    for i in 0..1200 {
        put = put.log_events(ev(t, &format!("line {i}")));
    }
    put.send().await.unwrap();
    loop {
        let Some(Event::SessionUpdate(u)) = session.response_stream.recv().await.unwrap() else {
            panic!("no sessionUpdate");
        };
        if u.session_results().is_empty() {
            continue;
        }
        assert_eq!(u.session_results().len(), 500);
        assert_eq!(u.session_metadata().map(|m| m.sampled()), Some(true));
        let first = u.session_results()[0].message().unwrap();
        let last = u.session_results()[499].message().unwrap();
        assert_eq!((first, last), ("line 0", "line 1197"));
        break;
    }
}
