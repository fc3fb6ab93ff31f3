package console

import (
	"fmt"
	"html/template"
	"strings"
	"unicode"
)

// HTML is the governance document rendered for reading (see renderMarkdown).
func (v governanceView) HTML() template.HTML { return renderMarkdown(v.Markdown) }

// renderMarkdown renders the Markdown subset that governance.RenderDocument writes to HTML:
// ATX headings of levels 1 to 3 (shifted one level down, under the page's h1), a "> " block
// quote (the broken-chain banner), "- " bullet lists, pipe tables (th scope="col"), paragraphs,
// and inline backslash escapes, `code`, **strong**, *emphasis*, [links](url), the entities
// &lt; &gt; &amp; &quot; &#39; and the generator's <br>.
//
// Everything else is text, escaped as html/template escapes it: any other HTML, entity or
// construct is shown as written, never dropped. A link is made only to an http, https or
// "#anchor" URL; any other (javascript:, data:…) is shown as text with its brackets.
func renderMarkdown(src string) template.HTML {
	src = strings.ReplaceAll(strings.ToValidUTF8(src, "\uFFFD"), "\r\n", "\n")
	lines := strings.Split(src, "\n")
	var b strings.Builder
	for i := 0; i < len(lines); {
		line := lines[i]
		switch {
		case strings.TrimSpace(line) == "":
			i++
		case headingLevel(line) > 0:
			n := headingLevel(line)
			fmt.Fprintf(&b, "<h%d>%s</h%d>\n", n+1, inline(strings.TrimSpace(line[n:]), false), n+1)
			i++
		case isTableStart(lines, i):
			i = table(&b, lines, i)
		case strings.HasPrefix(line, "- "):
			j := runOf(lines, i, func(l string) bool { return strings.HasPrefix(l, "- ") })
			b.WriteString("<ul>\n")
			for _, l := range lines[i:j] {
				fmt.Fprintf(&b, "<li>%s</li>\n", inline(strings.TrimSpace(l[2:]), false))
			}
			b.WriteString("</ul>\n")
			i = j
		case strings.HasPrefix(line, ">"):
			j := runOf(lines, i, func(l string) bool { return strings.HasPrefix(l, ">") })
			quoted := make([]string, 0, j-i)
			for _, l := range lines[i:j] {
				quoted = append(quoted, strings.TrimPrefix(l[1:], " "))
			}
			fmt.Fprintf(&b, "<blockquote><p>%s</p></blockquote>\n", inline(strings.Join(quoted, "\n"), false))
			i = j
		default:
			j := i + 1
			for j < len(lines) && strings.TrimSpace(lines[j]) != "" && !startsBlock(lines, j) {
				j++
			}
			fmt.Fprintf(&b, "<p>%s</p>\n", inline(strings.Join(lines[i:j], "\n"), false))
			i = j
		}
	}
	// Safe: every byte of src went through template.HTMLEscapeString, except the tags written
	// here and the entities and <br> that inline copies as they are.
	return template.HTML(b.String())
}

// headingLevel is the level of an ATX heading line ("## Rollbacks" is 2), 0 if line is not one.
func headingLevel(line string) int {
	n := len(line) - len(strings.TrimLeft(line, "#"))
	if n < 1 || n > 3 || len(line) == n || line[n] != ' ' {
		return 0
	}
	return n
}

// startsBlock says whether lines[i] ends a paragraph by starting another block.
func startsBlock(lines []string, i int) bool {
	l := lines[i]
	return headingLevel(l) > 0 || strings.HasPrefix(l, "- ") || strings.HasPrefix(l, ">") || isTableStart(lines, i)
}

// runOf returns the end of the run of lines from i on that match.
func runOf(lines []string, i int, match func(string) bool) int {
	for i < len(lines) && match(lines[i]) {
		i++
	}
	return i
}

// isTableStart says whether lines[i] is a table's header row: a row followed by a separator
// row (|---|---|) of as many cells.
func isTableStart(lines []string, i int) bool {
	if i+1 >= len(lines) || !strings.HasPrefix(lines[i], "|") || !strings.HasPrefix(lines[i+1], "|") {
		return false
	}
	sep := cells(lines[i+1])
	for _, c := range sep {
		if strings.Trim(c, ":") == "" || strings.Trim(c, ":-") != "" {
			return false
		}
	}
	return len(sep) == len(cells(lines[i]))
}

// table writes the table starting at lines[i] and returns the index of the line after it. A
// row with fewer cells than the header is padded; one with more keeps them all.
func table(b *strings.Builder, lines []string, i int) int {
	header := cells(lines[i])
	b.WriteString("<table>\n<thead>\n<tr>")
	for _, c := range header {
		fmt.Fprintf(b, `<th scope="col">%s</th>`, inline(c, false))
	}
	b.WriteString("</tr>\n</thead>\n<tbody>\n")
	j := runOf(lines, i+2, func(l string) bool { return strings.HasPrefix(l, "|") })
	for _, l := range lines[i+2 : j] {
		row := cells(l)
		for len(row) < len(header) {
			row = append(row, "")
		}
		b.WriteString("<tr>")
		for _, c := range row {
			fmt.Fprintf(b, "<td>%s</td>", inline(c, false))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n")
	return j
}

// cells splits a table row at its unescaped pipes, without the outer ones, trimmed.
func cells(row string) []string {
	row = strings.TrimSpace(row)
	var out []string
	start := 0
	for k := 0; k < len(row); k++ {
		switch row[k] {
		case '\\':
			k++
		case '|':
			out = append(out, strings.TrimSpace(row[start:k]))
			start = k + 1
		}
	}
	if rest := strings.TrimSpace(row[start:]); rest != "" || start == 0 {
		out = append(out, rest)
	}
	if strings.HasPrefix(row, "|") {
		out = out[1:]
	}
	return out
}

// inline renders the inline constructs of s; inLink stops links nesting inside a link's text.
func inline(s string, inLink bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]):
			b.WriteString(template.HTMLEscapeString(s[i+1 : i+2]))
			i += 2
		case c == '`':
			fence := s[i : len(s)-len(strings.TrimLeft(s[i:], "`"))]
			body := s[i+len(fence):]
			end := closingFence(body, fence)
			if end < 0 {
				b.WriteString(fence)
				i += len(fence)
				break
			}
			fmt.Fprintf(&b, "<code>%s</code>", template.HTMLEscapeString(body[:end]))
			i += 2*len(fence) + end
		case c == '*':
			delim, tag := "*", "em"
			if strings.HasPrefix(s[i:], "**") {
				delim, tag = "**", "strong"
			}
			body := s[i+len(delim):]
			end := closingDelim(body, delim)
			if end <= 0 {
				b.WriteString(delim)
				i += len(delim)
				break
			}
			fmt.Fprintf(&b, "<%s>%s</%s>", tag, inline(body[:end], inLink), tag)
			i += 2*len(delim) + end
		case c == '[' && !inLink:
			i += link(&b, s[i:])
		case c == '&':
			n := entityLen(s[i:])
			if n == 0 {
				b.WriteString("&amp;")
				n = 1
			} else {
				b.WriteString(s[i : i+n])
			}
			i += n
		case strings.HasPrefix(s[i:], "<br>"):
			b.WriteString("<br>")
			i += len("<br>")
		default:
			j := i + 1
			for j < len(s) && strings.IndexByte("\\`*[&<", s[j]) < 0 {
				j++
			}
			b.WriteString(template.HTMLEscapeString(s[i:j]))
			i = j
		}
	}
	return b.String()
}

// link writes the link that s starts with ([text](url)) and returns its length. The link is an
// <a> only to an http, https or #anchor URL; any other is written as text, brackets included.
// When s does not start with a link (its text may not hold an unescaped "["), it writes "["
// and returns 1.
func link(b *strings.Builder, s string) int {
	end := closingDelim(s[1:], "]") + 1
	if end <= 0 || !strings.HasPrefix(s[end:], "](") || closingDelim(s[1:end], "[") >= 0 {
		b.WriteByte('[')
		return 1
	}
	dest := s[end+2:]
	stop := strings.IndexByte(dest, ')')
	if stop < 0 || strings.ContainsFunc(dest[:stop], func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' }) {
		b.WriteByte('[')
		return 1
	}
	url, text := dest[:stop], inline(s[1:end], true)
	if safeURL(url) {
		fmt.Fprintf(b, `<a href="%s" rel="noreferrer">%s</a>`, template.HTMLEscapeString(url), text)
	} else {
		fmt.Fprintf(b, "[%s](%s)", text, template.HTMLEscapeString(url))
	}
	return end + 2 + stop + 1
}

// safeURL says whether a link may point to url: http, https, or an anchor of the page.
func safeURL(url string) bool {
	u := strings.ToLower(url)
	return strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "#")
}

// closingFence is the index in s of the run of backticks exactly as long as fence that closes a
// code span, -1 if there is none.
func closingFence(s, fence string) int {
	for i := 0; i < len(s); {
		if s[i] != '`' {
			i++
			continue
		}
		n := len(s[i:]) - len(strings.TrimLeft(s[i:], "`"))
		if n == len(fence) {
			return i
		}
		i += n
	}
	return -1
}

// closingDelim is the index in s of the first delim that is not backslash-escaped, -1 if there
// is none.
func closingDelim(s, delim string) int {
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
		case strings.HasPrefix(s[i:], delim):
			return i
		}
	}
	return -1
}

// entityLen is the length of the entity s starts with, among those the generator and html
// escaping write; 0 for any other, whose "&" is then escaped.
func entityLen(s string) int {
	for _, e := range []string{"&lt;", "&gt;", "&amp;", "&quot;", "&#39;", "&#34;"} {
		if strings.HasPrefix(s, e) {
			return len(e)
		}
	}
	return 0
}

// isASCIIPunct says whether c is ASCII punctuation, which a backslash escapes.
func isASCIIPunct(c byte) bool {
	return c < 0x80 && (unicode.IsPunct(rune(c)) || unicode.IsSymbol(rune(c)))
}
