package classify

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrUnsupported is wrapped by rules the classifier cannot honour.
var ErrUnsupported = errors.New("not supported")

// ErrFull is returned when no rule ID is left.
var ErrFull = errors.New("highest rule ID is already assigned, delete it first")

// Set is the rules of one port (and direction), as the control plane
// edits them. Every change compiles a new Classifier and returns it; the
// caller publishes it to the data path with an atomic pointer store, so
// the lcores never wait on an update. A Set is not safe for concurrent
// use; the Classifiers it returns are.
//
// Each change recompiles every rule: 30 to 50 ms for 10,000 ClassBench
// 5-tuple rules, 5 to 10 ms for 1,000, on one core of the machine of the
// package's benchmarks (BenchmarkBuild); AddAll adds many rules with one
// compilation.
type Set struct {
	opt   *Options
	rules []*Rule // creation order
	cur   *Classifier
}

// NewSet returns an empty set whose classifiers are built with opt (nil:
// defaults).
func NewSet(opt *Options) *Set {
	s := &Set{opt: opt}
	s.cur = Compile(nil, opt)
	return s
}

// Validate reports whether r can be added: only group 0 is classified.
func Validate(r *Rule) error {
	if r.Group != 0 {
		return fmt.Errorf("group %d: %w: only group 0 is classified (offloadpmd has no jump action)", r.Group, ErrUnsupported)
	}
	return nil
}

// Classifier is the current compiled classifier.
func (s *Set) Classifier() *Classifier { return s.cur }

// Len is the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// nextID is testpmd's: the newest rule's ID plus one, 0 for the first.
func (s *Set) nextID() (RuleID, error) {
	if len(s.rules) == 0 {
		return 0, nil
	}
	last := s.rules[len(s.rules)-1].ID
	if last == math.MaxUint32-1 { // NoMatch is not an ID
		return 0, ErrFull
	}
	return last + 1, nil
}

// Add validates r, gives a copy of it the next ID and returns that ID and
// the new classifier.
func (s *Set) Add(r *Rule) (RuleID, *Classifier, error) {
	ids, c, err := s.AddAll([]*Rule{r})
	if err != nil {
		return 0, nil, err
	}
	return ids[0], c, nil
}

// AddAll adds rules in order with one compilation: all of them or, if
// one is invalid, none.
func (s *Set) AddAll(rules []*Rule) ([]RuleID, *Classifier, error) {
	n := len(s.rules)
	ids := make([]RuleID, 0, len(rules))
	for i, r := range rules {
		err := Validate(r)
		var id RuleID
		if err == nil {
			id, err = s.nextID()
		}
		if err != nil {
			s.rules = s.rules[:n]
			if len(rules) > 1 {
				err = fmt.Errorf("rule %d of %d: %w", i+1, len(rules), err)
			}
			return nil, nil, err
		}
		cp := r.clone()
		cp.ID = id
		s.rules = append(s.rules, cp)
		ids = append(ids, id)
	}
	s.cur = Compile(s.rules, s.opt)
	return ids, s.cur, nil
}

// Remove deletes the rules of ids that exist and returns the ones it
// deleted (testpmd says "Flow rule #N destroyed" for those and nothing for
// the others) and the new classifier.
func (s *Set) Remove(ids ...RuleID) ([]RuleID, *Classifier) {
	var gone []RuleID
	s.rules = slices.DeleteFunc(s.rules, func(r *Rule) bool {
		if slices.Contains(ids, r.ID) {
			gone = append(gone, r.ID)
			return true
		}
		return false
	})
	if len(gone) > 0 {
		s.cur = Compile(s.rules, s.opt)
	}
	return gone, s.cur
}

// Flush deletes every rule.
func (s *Set) Flush() *Classifier {
	s.rules = nil
	s.cur = Compile(nil, s.opt)
	return s.cur
}

// Rule returns the rule with ID id.
func (s *Set) Rule(id RuleID) (*Rule, bool) {
	i := slices.IndexFunc(s.rules, func(r *Rule) bool { return r.ID == id })
	if i < 0 {
		return nil, false
	}
	return s.rules[i], true
}

// List returns the rules of the given groups (all if none) in the order
// of testpmd's `flow list`: by group, priority and ID.
func (s *Set) List(groups ...uint32) []*Rule {
	var l []*Rule
	for _, r := range s.rules {
		if len(groups) == 0 || slices.Contains(groups, r.Group) {
			l = append(l, r)
		}
	}
	slices.SortFunc(l, func(a, b *Rule) int {
		switch {
		case a.Group != b.Group:
			return cmp.Compare(a.Group, b.Group)
		case a.Priority != b.Priority:
			return cmp.Compare(a.Priority, b.Priority)
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return l
}

func (r *Rule) clone() *Rule {
	cp := *r
	cp.Pattern.Items = slices.Clone(r.Pattern.Items)
	cp.Actions = slices.Clone(r.Actions)
	for i, a := range cp.Actions {
		if a.RSS != nil {
			rss := *a.RSS
			rss.Types = slices.Clone(rss.Types)
			rss.Queues = slices.Clone(rss.Queues)
			cp.Actions[i].RSS = &rss
		}
	}
	return &cp
}
