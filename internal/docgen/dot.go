package docgen

import (
	"fmt"
	"regexp"
	"strings"
)

// dot builds Graphviz DOT text line by line, indented by nesting.
type dot struct {
	b     strings.Builder
	depth int
}

func (d *dot) line(format string, args ...any) {
	d.b.WriteString(strings.Repeat("  ", d.depth))
	fmt.Fprintf(&d.b, format, args...)
	d.b.WriteByte('\n')
}

// open starts a block ("digraph x {", "subgraph cluster_y {") and close ends it.
func (d *dot) open(format string, args ...any) {
	d.line(format+" {", args...)
	d.depth++
}

func (d *dot) close() {
	d.depth--
	d.line("}")
}

func (d *dot) String() string { return d.b.String() }

// quote returns s as a DOT string; a newline in s starts a new centred line.
func quote(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
	return `"` + s + `"`
}

// attrs formats name/value pairs as a DOT attribute list, in the given order.
func attrs(pairs ...string) string {
	parts := make([]string, 0, len(pairs)/2)
	for i := 0; i+1 < len(pairs); i += 2 {
		parts = append(parts, pairs[i]+"="+quote(pairs[i+1]))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// wrap breaks long text at spaces so that labels stay narrow.
func wrap(text string, width int) string {
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		line := ""
		for _, word := range strings.Fields(para) {
			if line != "" && len(line)+1+len(word) > width {
				lines = append(lines, line)
				line = word
				continue
			}
			line = strings.TrimPrefix(line+" "+word, " ")
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug makes a file name part from a construct path or a stack name.
func slug(s string) string {
	return strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
}
