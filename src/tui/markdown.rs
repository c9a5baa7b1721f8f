//! The small part of Markdown that lesson text uses: headings, paragraphs, bullet and numbered
//! lists, fenced code, `inline code` and **bold**. Everything else is shown as written. A fence
//! whose info string names a file (```` ```actions.json ````) shows that name above the block,
//! so a learner knows what to save it as; `sh` and other languages are not shown.

use ratatui::text::{Line, Span};

use super::theme::Theme;

pub fn render(text: &str, theme: Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    let mut fenced = false;
    // The paragraph or list item being gathered: source lines are joined, the pane wraps them.
    let mut para: Option<(String, String)> = None;
    let flush = |para: &mut Option<(String, String)>, out: &mut Vec<Line<'static>>| {
        if let Some((prefix, text)) = para.take() {
            let mut spans = vec![Span::raw(prefix)];
            spans.extend(inline(&text, theme));
            spans.retain(|s| !s.content.is_empty());
            out.push(Line::from(spans));
        }
    };
    for raw in text.trim_matches('\n').lines() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        if let Some(info) = trimmed.strip_prefix("```") {
            flush(&mut para, &mut out);
            fenced = !fenced;
            let info = info.trim();
            if fenced && info.contains('.') {
                out.push(Line::from(Span::styled(format!("  {info}:"), theme.dim())));
            }
            continue;
        }
        if fenced {
            out.push(Line::from(Span::styled(format!("  {line}"), theme.code())));
            continue;
        }
        let indent = " ".repeat(line.len() - trimmed.len());
        if trimmed.is_empty() {
            flush(&mut para, &mut out);
            out.push(Line::raw(""));
        } else if let Some(h) = trimmed.strip_prefix('#') {
            flush(&mut para, &mut out);
            let h = h.trim_start_matches('#').trim();
            out.push(Line::from(Span::styled(h.to_owned(), theme.heading())));
        } else if let Some(item) = trimmed
            .strip_prefix("- ")
            .or_else(|| trimmed.strip_prefix("* "))
        {
            flush(&mut para, &mut out);
            para = Some((format!("{indent}• "), item.to_owned()));
        } else if let Some((num, item)) = numbered(trimmed) {
            flush(&mut para, &mut out);
            para = Some((format!("{indent}{num} "), item.to_owned()));
        } else if let Some((_, text)) = &mut para {
            text.push(' ');
            text.push_str(trimmed);
        } else {
            para = Some((String::new(), trimmed.to_owned()));
        }
    }
    flush(&mut para, &mut out);
    out
}

/// `12. text` as (`12.`, `text`).
fn numbered(line: &str) -> Option<(&str, &str)> {
    let (num, rest) = line.split_once(". ")?;
    (!num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()))
        .then(|| (&line[..num.len() + 1], rest))
}

/// `code` and **bold** spans.
fn inline(text: &str, theme: Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let tick = rest.find('`');
        let star = rest.find("**");
        let (at, marker, style) = match (tick, star) {
            (Some(t), Some(s)) if s < t => (s, "**", theme.bold()),
            (Some(t), _) => (t, "`", theme.code()),
            (None, Some(s)) => (s, "**", theme.bold()),
            (None, None) => break,
        };
        let after = &rest[at + marker.len()..];
        let Some(end) = after.find(marker) else {
            break;
        };
        if at > 0 {
            spans.push(Span::raw(rest[..at].to_owned()));
        }
        spans.push(Span::styled(after[..end].to_owned(), style));
        rest = &after[end + marker.len()..];
    }
    if !rest.is_empty() {
        spans.push(Span::raw(rest.to_owned()));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn headings_lists_code_and_inline_marks() {
        let t = Theme { color: true };
        let lines = render(
            "# Title\n\nSay `GET /` and **why**.\n- one\n  - two\n    more\n1. first\nnext line\n```\ncurl -si x\n```\n",
            t,
        );
        assert_eq!(
            text(&lines),
            [
                "Title",
                "",
                "Say GET / and why.",
                "• one",
                "  • two more",
                "1. first next line",
                "  curl -si x"
            ]
        );
        assert_eq!(lines[2].spans[1].style, t.code());
        assert_eq!(lines[2].spans[3].style, t.bold());
        assert_eq!(lines[2].spans[1].content, "GET /");
        assert_eq!(lines[0].spans[0].style, t.heading());
    }

    #[test]
    fn a_fence_naming_a_file_shows_the_name_and_a_language_does_not() {
        let t = Theme { color: true };
        let lines = render(
            "```actions.json\n[1]\n```\n```sh\naws sts get-caller-identity\n```",
            t,
        );
        assert_eq!(
            text(&lines),
            ["  actions.json:", "  [1]", "  aws sts get-caller-identity"]
        );
        assert_eq!(lines[0].spans[0].style, t.dim());
    }

    #[test]
    fn an_unclosed_mark_is_shown_as_written() {
        let lines = render("a `b and **c", Theme { color: false });
        assert_eq!(text(&lines), ["a `b and **c"]);
    }
}
