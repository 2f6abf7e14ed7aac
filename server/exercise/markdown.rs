//! Markdown to HTML that is safe to put in a page: raw HTML is shown as text and links
//! may only go to http, https, mailto or a place in the page.
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Renders exercise Markdown (instructions, hints, debrief) to HTML.
pub fn render(markdown: &str) -> String {
    let parser = Parser::new_ext(
        markdown,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    )
    .map(|event| match event {
        // pulldown-cmark passes raw HTML through untouched; an exercise file is not
        // trusted to write markup, so it is shown as the text it is.
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Link {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) => Event::Start(Tag::Image {
            link_type,
            dest_url: safe_url(dest_url),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, parser);
    out
}

/// Keeps a relative URL or one with a harmless scheme; anything else (`javascript:`,
/// `data:`, `vbscript:` ...) becomes `#`.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    // Browsers ignore whitespace and control characters inside a scheme, so they are
    // ignored here too before the scheme is judged.
    let compact: String = url
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect::<String>()
        .to_ascii_lowercase();
    let scheme_end = compact.find(':');
    let path_start = compact.find(['/', '?', '#']);
    let has_scheme = match (scheme_end, path_start) {
        (Some(colon), Some(slash)) => colon < slash,
        (Some(_), None) => true,
        _ => false,
    };
    let allowed = ["http:", "https:", "mailto:"];
    if !has_scheme || allowed.iter().any(|s| compact.starts_with(s)) {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn raw_html_is_escaped() {
        let html = render("Hello <script>alert(1)</script>\n\n<div onclick=x>block</div>\n");
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<div"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn javascript_links_are_neutralised() {
        for url in [
            "javascript:alert(1)",
            "JaVaScRiPt:x",
            "java%0Ascript:x",
            "data:text/html,x",
        ] {
            let html = render(&format!("[click]({url}) ![img]({url})"));
            assert!(!html.contains(&format!("href=\"{url}")), "{url}: {html}");
            assert!(html.contains("href=\"#\""), "{url}: {html}");
        }
    }

    #[test]
    fn ordinary_markdown_and_links_survive() {
        let html = render("**bold** [docs](https://example.org/a) [here](#goals) [rel](guide/a:b)");
        assert!(html.contains("<strong>bold</strong>"));
        assert!(html.contains("href=\"https://example.org/a\""));
        assert!(html.contains("href=\"#goals\""));
        assert!(html.contains("href=\"guide/a:b\""));
    }
}
