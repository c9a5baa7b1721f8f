//! The course as data: one TOML file per lesson, loaded into [`Lesson`]s.
//!
//! Two layers, as `lessons/README.md` documents them: the `*Info` types mirror the file and reject
//! unknown fields; [`Lesson`], [`Step`] and [`Check`] are what the guide runs. Loading reports
//! every broken file with its line and reason and keeps the good ones. The files are embedded in
//! the binary; a `lessons/` folder in the working directory takes their place while authoring.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// The format this build reads; a file declares it as `format_version`.
pub const FORMAT_VERSION: u32 = 1;

mod kind;
mod template;

pub use kind::Kind;
use template::templates_known;
pub use template::{VARIABLES, render, template_names};

const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/lessons.rs"));

/// Which track a check belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Track {
    Local,
    Cloud,
    Both,
}

impl Track {
    /// Whether a check marked `self` runs on `target`.
    pub fn runs_on(self, target: Track) -> bool {
        self == Track::Both || self == target
    }
}

impl fmt::Display for Track {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Track::Local => "local",
            Track::Cloud => "aws",
            Track::Both => "both",
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LessonInfo {
    format_version: u32,
    title: String,
    #[serde(default)]
    summary: String,
    /// The documentation the lesson's facts come from.
    #[serde(default)]
    sources: Vec<String>,
    steps: Vec<StepInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StepInfo {
    title: String,
    text: String,
    local: Option<String>,
    build: Option<String>,
    #[serde(default)]
    hints: Vec<String>,
    #[serde(default)]
    checks: Vec<Spanned<toml::Table>>,
}

/// A check as the guide runs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub name: String,
    pub track: Track,
    /// What a learner could type to see the same thing.
    pub command: String,
    pub kind: Kind,
    /// What "show me" runs instead: the guide doing it itself, for a check that waits for the
    /// learner.
    pub show_me: Option<Kind>,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub title: String,
    pub text: String,
    /// What differs in the local lab, shown after the text on the local track only.
    pub local: Option<String>,
    /// What the learner does on a blank lab (the build track), shown instead of `local` there.
    pub build: Option<String>,
    pub hints: Vec<String>,
    pub checks: Vec<Check>,
}

impl Step {
    /// The step's text as a learner on `track` reads it; `blank` when the local lab started
    /// blank, and the learner builds it. On the local track, the text's commands for an AWS
    /// account (```` ```sh cloud ````) give way to a line that says where they are; on a blank
    /// lab the build note takes the place of the first of them, where the learner looks for
    /// what to type.
    pub fn text_on(&self, track: Track, blank: bool) -> std::borrow::Cow<'_, str> {
        if track == Track::Cloud {
            return self.text.as_str().into();
        }
        let build = self
            .build
            .as_deref()
            .filter(|_| blank)
            .map(|b| format!("**On your blank lab:** {}", b.trim()));
        let (text, placed) = without_cloud_blocks(&self.text, build.as_deref());
        let note = |note: &str| format!("{}\n\n{note}", text.trim_end()).into();
        match (build, &self.local) {
            (Some(_), _) if placed => text,
            (Some(build), _) => note(&build),
            (None, Some(local)) => note(&format!("**In the local lab:** {}", local.trim())),
            (None, None) => text,
        }
    }

    pub fn checks_on(&self, track: Track) -> impl Iterator<Item = (usize, &Check)> {
        self.checks
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.track.runs_on(track))
    }
}

/// `text` with each ```` ```sh cloud ```` block replaced by a line saying it is for AWS, the
/// first by `first` when given; and whether `first` found its place.
fn without_cloud_blocks<'a>(
    text: &'a str,
    first: Option<&str>,
) -> (std::borrow::Cow<'a, str>, bool) {
    if !text.contains("```sh cloud") {
        return (text.into(), false);
    }
    let mut out = String::with_capacity(text.len());
    let mut hiding = false;
    let mut first = first;
    for line in text.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (hiding, fence) {
            (false, Some(info)) if info.trim() == "sh cloud" => {
                hiding = true;
                out.push_str("(The commands for your AWS account are on the cloud track.)\n");
                if let Some(note) = first.take() {
                    out.push('\n');
                    out.push_str(note);
                    out.push('\n');
                }
            }
            (true, Some(_)) => hiding = false,
            (true, None) => {}
            (false, _) => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    (out.into(), first.is_none())
}

#[derive(Debug, Clone, PartialEq)]
pub struct Lesson {
    /// The file's name without `.toml`, such as `01-local-lab`.
    pub id: String,
    pub title: String,
    pub summary: String,
    pub sources: Vec<String>,
    pub steps: Vec<Step>,
    /// Where it was loaded from (a path, or `embedded:NAME`).
    pub source: String,
}

impl Lesson {
    /// The number its id starts with, if any.
    pub fn number(&self) -> Option<u32> {
        let digits: String = self.id.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    }
}

/// A file that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.reason)
    }
}

/// Every lesson, from `dir` when it is given, else from `./lessons` when that folder exists,
/// else the embedded copies; with every error found on the way.
pub fn load(dir: Option<&Path>) -> (Vec<Lesson>, Vec<LoadError>) {
    let local = PathBuf::from("lessons");
    let dir = dir.or_else(|| local.join("README.md").is_file().then_some(local.as_path()));
    match dir {
        Some(dir) => load_dir(dir),
        None => load_all(
            EMBEDDED
                .iter()
                .map(|(name, text)| (format!("embedded:{name}"), (*text).to_owned())),
        ),
    }
}

fn load_dir(dir: &Path) -> (Vec<Lesson>, Vec<LoadError>) {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(d) => d
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect(),
        Err(e) => {
            let err = LoadError {
                file: dir.display().to_string(),
                line: 0,
                reason: format!("cannot read the lessons folder: {e}"),
            };
            return (Vec::new(), vec![err]);
        }
    };
    files.sort();
    let mut errors = Vec::new();
    let texts: Vec<(String, String)> = files
        .into_iter()
        .filter_map(|p| match std::fs::read_to_string(&p) {
            Ok(t) => Some((p.display().to_string(), t)),
            Err(e) => {
                errors.push(LoadError {
                    file: p.display().to_string(),
                    line: 0,
                    reason: format!("cannot read: {e}"),
                });
                None
            }
        })
        .collect();
    let (lessons, more) = load_all(texts.into_iter());
    errors.extend(more);
    (lessons, errors)
}

fn load_all(files: impl Iterator<Item = (String, String)>) -> (Vec<Lesson>, Vec<LoadError>) {
    let mut lessons: Vec<Lesson> = Vec::new();
    let mut errors = Vec::new();
    for (file, text) in files {
        match parse(&file, &text) {
            Ok(l) if lessons.iter().any(|o| o.id == l.id) => errors.push(LoadError {
                file,
                line: 1,
                reason: format!("a second lesson with id {}", l.id),
            }),
            Ok(l) => lessons.push(l),
            Err(e) => errors.extend(e),
        }
    }
    (lessons, errors)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

/// Parses one lesson file; `file` names it in errors and gives the lesson its id.
pub fn parse(file: &str, text: &str) -> Result<Lesson, Vec<LoadError>> {
    let err = |line: usize, reason: String| LoadError {
        file: file.to_owned(),
        line,
        reason,
    };
    let info: LessonInfo = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(1, |s| line_of(text, s.start));
        vec![err(line, e.message().trim().to_owned())]
    })?;
    if info.format_version != FORMAT_VERSION {
        return Err(vec![err(
            1,
            format!(
                "format_version {} is not one this build reads ({FORMAT_VERSION})",
                info.format_version
            ),
        )]);
    }
    let mut errors = Vec::new();
    if info.steps.is_empty() {
        errors.push(err(1, "a lesson needs at least one step".into()));
    }
    let mut steps = Vec::new();
    for s in info.steps {
        let mut checks = Vec::new();
        for spanned in s.checks {
            let line = line_of(text, spanned.span().start);
            match check(spanned.into_inner(), line) {
                Ok(c) => checks.push(c),
                Err(reason) => errors.push(err(line, reason)),
            }
        }
        steps.push(Step {
            title: s.title,
            text: s.text,
            local: s.local,
            build: s.build,
            hints: s.hints,
            checks,
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let name = file.rsplit(['/', ':']).next().unwrap_or(file);
    Ok(Lesson {
        id: name.trim_end_matches(".toml").to_owned(),
        title: info.title,
        summary: info.summary,
        sources: info.sources,
        steps,
        source: file.to_owned(),
    })
}

fn check(mut table: toml::Table, line: usize) -> Result<Check, String> {
    let mut take = |key: &str| -> Result<Option<String>, String> {
        match table.remove(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(format!("`{key}` must be a string, not {}", v.type_str())),
        }
    };
    let name = take("name")?.ok_or("a check needs a `name`")?;
    let command = take("command")?.ok_or_else(|| {
        format!("check {name:?} needs a `command`: what a learner can type to see the same thing")
    })?;
    let track = match take("track")?.as_deref() {
        None | Some("both") => Track::Both,
        Some("local") => Track::Local,
        Some("cloud") => Track::Cloud,
        Some(other) => {
            return Err(format!(
                "check {name:?}: track {other:?} is not local, cloud or both"
            ));
        }
    };
    let show_me = match table.remove("show_me") {
        None => None,
        Some(v @ toml::Value::Table(_)) => {
            templates_known(&v, None).map_err(|e| format!("check {name:?}'s show_me: {e}"))?;
            Some(v.try_into::<Kind>().map_err(|e: toml::de::Error| {
                format!("check {name:?}'s show_me: {}", e.message().trim())
            })?)
        }
        Some(v) => {
            return Err(format!(
                "check {name:?}: `show_me` must be a table (a check's kind and fields), not {}",
                v.type_str()
            ));
        }
    };
    templates_known(&toml::Value::Table(table.clone()), None)
        .and_then(|()| templates_known(&toml::Value::String(command.clone()), None))
        .map_err(|e| format!("check {name:?}: {e}"))?;
    let kind: Kind = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| format!("check {name:?}: {}", e.message().trim()))?;
    if let Kind::SsmCommand { run, .. } = &kind
        && !cognito_learning_contract::ssm::allowed(run)
    {
        return Err(format!(
            "check {name:?}: {run:?} is not one of the read-only commands the project allows on the instance"
        ));
    }
    if let Kind::YourTime { what } = &kind
        && !crate::checks::TIME_CHECKS.contains(&what.as_str())
    {
        return Err(format!(
            "check {name:?}: `what` is {what:?}, not one of {}",
            crate::checks::TIME_CHECKS.join(", ")
        ));
    }
    if let Kind::SsmCommand { run, .. } = &kind {
        // What the learner types must send what the check runs, in the JSON list form that
        // keeps its quotes (the CLI's shorthand breaks on a quote inside a value).
        let list = serde_json::json!({ "commands": [run] }).to_string();
        if !command.contains(&format!("--parameters '{list}'")) {
            return Err(format!(
                "check {name:?}: its command must send `run` as --parameters '{list}'"
            ));
        }
    }
    Ok(Check {
        name,
        track,
        command,
        kind,
        show_me,
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    const GOOD: &str = r#"
format_version = 1
title = "A lesson"

[[steps]]
title = "One"
text = "Some *text*."
hints = ["try this"]

[[steps.checks]]
kind = "http"
name = "public answers"
command = "curl -si {site}/v1/public"
url = "{site}/v1/public"
status = 200
"#;

    #[test]
    fn a_good_file_loads_with_its_id_and_number() {
        let l = parse("lessons/07-good.toml", GOOD).unwrap();
        assert_eq!((l.id.as_str(), l.number()), ("07-good", Some(7)));
        let c = &l.steps[0].checks[0];
        assert_eq!((c.track, c.line), (Track::Both, 10));
        assert!(matches!(&c.kind, Kind::Http { status: Some(200), method, .. } if method == "GET"));
    }

    #[test]
    fn a_local_note_is_read_on_the_local_track_only() {
        let file = GOOD.replace(
            "hints = [\"try this\"]",
            "local = \"the lab made it\"\nhints = [\"try this\"]",
        );
        let l = parse("01-a.toml", &file).unwrap_or_else(|e| panic!("{e:?}"));
        let step = &l.steps[0];
        assert_eq!(
            step.text_on(Track::Local, false),
            "Some *text*.\n\n**In the local lab:** the lab made it"
        );
        assert_eq!(step.text_on(Track::Cloud, false), "Some *text*.");
        // No build text: a blank lab's learner reads the local note.
        assert_eq!(
            step.text_on(Track::Local, true),
            step.text_on(Track::Local, false)
        );
    }

    #[test]
    fn commands_for_an_aws_account_show_on_the_cloud_track_only() {
        let file = GOOD.replace(
            "text = \"Some *text*.\"",
            "text = \"\"\"\nBefore.\n\n```sh cloud\naws ec2 describe-vpcs\n```\n\n```sh\naws logs describe-log-groups\n```\n\"\"\"",
        );
        let l = parse("01-a.toml", &file).unwrap_or_else(|e| panic!("{e:?}"));
        let step = &l.steps[0];
        let local = step.text_on(Track::Local, false);
        assert!(!local.contains("describe-vpcs"), "{local}");
        assert!(local.contains("on the cloud track"), "{local}");
        assert!(local.contains("describe-log-groups"), "{local}");
        let cloud = step.text_on(Track::Cloud, false);
        assert!(cloud.contains("describe-vpcs") && cloud.contains("describe-log-groups"));
        // On a blank lab, the build note stands where the AWS commands were.
        let mut step = step.clone();
        step.build = Some("make it".into());
        let blank = step.text_on(Track::Local, true);
        let at = |s: &str| blank.find(s).unwrap_or_else(|| panic!("{s} in {blank}"));
        assert!(at("on the cloud track") < at("**On your blank lab:** make it"));
        assert!(at("**On your blank lab:** make it") < at("describe-log-groups"));
        assert_eq!(blank.matches("On your blank lab").count(), 1);
    }

    #[test]
    fn a_build_note_replaces_the_local_one_on_a_blank_lab() {
        let file = GOOD.replace(
            "hints = [\"try this\"]",
            "local = \"the lab made it\"\nbuild = \"make it\"\nhints = [\"try this\"]",
        );
        let l = parse("01-a.toml", &file).unwrap_or_else(|e| panic!("{e:?}"));
        let step = &l.steps[0];
        assert_eq!(
            step.text_on(Track::Local, true),
            "Some *text*.\n\n**On your blank lab:** make it"
        );
        assert!(
            step.text_on(Track::Local, false)
                .ends_with("the lab made it")
        );
        assert_eq!(step.text_on(Track::Cloud, true), "Some *text*.");
    }

    #[test]
    fn unknown_fields_are_errors_with_their_line() {
        let bad = GOOD.replace("status = 200", "status = 200\nstatsu = 201");
        let e = parse("x.toml", &bad).unwrap_err();
        assert_eq!(e[0].line, 10, "{e:?}");
        assert!(e[0].reason.contains("statsu"), "{e:?}");
        let bad = GOOD.replace("hints =", "hint =");
        let e = parse("x.toml", &bad).unwrap_err();
        assert!(e[0].reason.contains("hint"), "{e:?}");
        assert_eq!(e[0].line, 8, "{e:?}");
    }

    #[test]
    fn broken_checks_say_why() {
        for (from, to, says) in [
            ("kind = \"http\"", "kind = \"htp\"", "htp"),
            (
                "{site}/v1/public\"\nstatus",
                "{sight}/v1/public\"\nstatus",
                "{sight}",
            ),
            (
                "command = \"curl -si {site}/v1/public\"\n",
                "",
                "needs a `command`",
            ),
            (
                "format_version = 1",
                "format_version = 9",
                "format_version 9",
            ),
            ("status = 200", "status = \"200\"", "u16"),
        ] {
            let bad = GOOD.replacen(from, to, 1);
            assert_ne!(bad, GOOD, "{from}");
            let e = parse("x.toml", &bad).unwrap_err();
            assert!(e[0].reason.contains(says), "{from}: {e:?}");
        }
        let ssm = r#"
format_version = 1
title = "t"
[[steps]]
title = "s"
text = "t"
[[steps.checks]]
kind = "ssm_command"
name = "n"
command = "aws ssm send-command"
run = "rm -rf /"
"#;
        let e = parse("x.toml", ssm).unwrap_err();
        assert!(e[0].reason.contains("read-only commands"), "{e:?}");
    }

    #[test]
    fn templates_render_or_name_what_is_missing() {
        let vars: BTreeMap<String, String> = [("site".to_owned(), "http://x".to_owned())].into();
        assert_eq!(render("{site}/a {b} {", &vars).unwrap(), "http://x/a {b} {");
        assert_eq!(render("-w %{site}", &vars).unwrap(), "-w %{site}");
        assert_eq!(
            render("curl %{http_code} {instance}", &vars).unwrap_err(),
            "{instance} is not set"
        );
        let names: Vec<&str> = template_names("{a} {B} {c_d} {} %{http_code}").collect();
        assert_eq!(names, ["a", "c_d"]);
    }

    #[test]
    fn every_embedded_lesson_loads() {
        let (lessons, errors) = load_all(
            EMBEDDED
                .iter()
                .map(|(n, t)| ((*n).to_owned(), (*t).to_owned())),
        );
        assert!(errors.is_empty(), "{errors:#?}");
        assert_eq!(lessons.len(), EMBEDDED.len());
        assert!(!lessons.is_empty());
    }
}
