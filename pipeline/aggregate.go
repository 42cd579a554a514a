package pipeline

import "strings"

// aggregateEntities turns a text's tokens into entities by strategy agg, as
// transformers' TokenClassificationPipeline.aggregate does: none and simple
// label each token by its best class; first, average and max first fuse
// the tokens of each word into one labelled word; every strategy but none
// then groups adjacent entities of the same tag. decode joins token
// strings into text (convert_tokens_to_string). Ignored labels are left to
// the caller, after grouping, as transformers filters them.
func aggregateEntities(pre []preEntity, labels []string, agg Aggregation, decode func([]string) string) []Entity {
	var ents []Entity
	switch agg {
	case AggregateNone, AggregateSimple:
		ents = make([]Entity, len(pre))
		for i, p := range pre {
			best := argmax(p.scores)
			ents[i] = Entity{Label: labels[best], Score: p.scores[best], Word: p.word, Start: p.start, End: p.end, Index: p.index}
		}
	default:
		ents = aggregateWords(pre, labels, agg, decode)
	}
	if agg == AggregateNone {
		return ents
	}
	return groupEntities(ents, decode)
}

// aggregateWords fuses each word's tokens (a token that is not a subword
// starts a word) into one entity labelled by strategy agg.
func aggregateWords(pre []preEntity, labels []string, agg Aggregation, decode func([]string) string) []Entity {
	var words []Entity
	for start := 0; start < len(pre); {
		end := start + 1
		for end < len(pre) && pre[end].subword {
			end++
		}
		words = append(words, aggregateWord(pre[start:end], labels, agg, decode))
		start = end
	}
	return words
}

// aggregateWord labels one word's tokens: by the first token (first), by
// the token whose best score is highest, the first on ties (max), or by the
// mean of the tokens' score vectors (average).
func aggregateWord(toks []preEntity, labels []string, agg Aggregation, decode func([]string) string) Entity {
	pieces := make([]string, len(toks))
	for i, t := range toks {
		pieces[i] = t.word
	}
	var scores []float64
	switch agg {
	case AggregateFirst:
		scores = toks[0].scores
	case AggregateMax:
		best, bestScore := 0, -1.0
		for i, t := range toks {
			if s := t.scores[argmax(t.scores)]; s > bestScore {
				best, bestScore = i, s
			}
		}
		scores = toks[best].scores
	case AggregateAverage:
		scores = make([]float64, len(toks[0].scores))
		for _, t := range toks {
			for k, s := range t.scores {
				scores[k] += s
			}
		}
		for k := range scores {
			scores[k] /= float64(len(toks))
		}
	}
	best := argmax(scores)
	return Entity{
		Label: labels[best],
		Score: scores[best],
		Word:  decode(pieces),
		Start: toks[0].start,
		End:   toks[len(toks)-1].end,
		Index: -1,
	}
}

// bioTag splits a label into its B/I prefix and tag; a label without one
// counts as a continuation (I) of its own tag.
func bioTag(label string) (bi byte, tag string) {
	if rest, ok := strings.CutPrefix(label, "B-"); ok {
		return 'B', rest
	}
	if rest, ok := strings.CutPrefix(label, "I-"); ok {
		return 'I', rest
	}
	return 'I', label
}

// groupEntities merges adjacent entities of the same tag, unless the later
// one begins an entity (B-), into groups labelled by the tag of their first
// member (the label after its first dash), scored by the mean of their
// scores.
func groupEntities(ents []Entity, decode func([]string) string) []Entity {
	var groups []Entity
	for start := 0; start < len(ents); {
		end := start + 1
		for end < len(ents) {
			bi, tag := bioTag(ents[end].Label)
			_, lastTag := bioTag(ents[end-1].Label)
			if tag != lastTag || bi == 'B' {
				break
			}
			end++
		}
		groups = append(groups, groupOf(ents[start:end], decode))
		start = end
	}
	return groups
}

func groupOf(members []Entity, decode func([]string) string) Entity {
	label := members[0].Label
	if _, rest, ok := strings.Cut(label, "-"); ok {
		label = rest
	}
	var sum float64
	words := make([]string, len(members))
	for i, e := range members {
		sum += e.Score
		words[i] = e.Word
	}
	return Entity{
		Label: label,
		Score: sum / float64(len(members)),
		Word:  decode(words),
		Start: members[0].Start,
		End:   members[len(members)-1].End,
		Index: -1,
	}
}
