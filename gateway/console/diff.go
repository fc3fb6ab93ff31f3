package console

import "strings"

// diffLine is one row of a side-by-side diff: the line of the left text, of the right text, or
// both when they are equal. Op is "same", "del" (left only), "add" (right only).
type diffLine struct {
	Op          string
	Left, Right string
	LeftN       int // line numbers from 1; 0 when the side has no line
	RightN      int
}

// maxDiffCells bounds the work of lineDiff (lines × lines); beyond it the texts are shown as
// one deletion and one insertion, which is correct if not minimal.
const maxDiffCells = 4 << 20

// lineDiff is a longest-common-subsequence line diff of a and b.
func lineDiff(a, b string) []diffLine {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(x)*len(y) > maxDiffCells {
		return naiveDiff(x, y)
	}
	// lcs[i][j]: length of the LCS of x[i:] and y[j:].
	lcs := make([][]int, len(x)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(y)+1)
	}
	for i := len(x) - 1; i >= 0; i-- {
		for j := len(y) - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []diffLine
	i, j := 0, 0
	for i < len(x) || j < len(y) {
		switch {
		case i < len(x) && j < len(y) && x[i] == y[j]:
			out = append(out, diffLine{Op: "same", Left: x[i], Right: y[j], LeftN: i + 1, RightN: j + 1})
			i, j = i+1, j+1
		case i < len(x) && (j == len(y) || lcs[i+1][j] >= lcs[i][j+1]): // deletions first
			out = append(out, diffLine{Op: "del", Left: x[i], LeftN: i + 1})
			i++
		default:
			out = append(out, diffLine{Op: "add", Right: y[j], RightN: j + 1})
			j++
		}
	}
	return out
}

// naiveDiff shows all of x deleted and all of y added.
func naiveDiff(x, y []string) []diffLine {
	out := make([]diffLine, 0, len(x)+len(y))
	for i, l := range x {
		out = append(out, diffLine{Op: "del", Left: l, LeftN: i + 1})
	}
	for j, l := range y {
		out = append(out, diffLine{Op: "add", Right: l, RightN: j + 1})
	}
	return out
}
