package chattemplate_test

import (
	"encoding/json"
	"fmt"

	"runner/chattemplate"
)

func ExampleTemplate_Render() {
	tmpl, err := chattemplate.Compile(
		"{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}\n{% endfor %}"+
			"{% if tools %}tools: {{ tools|tojson }}\n{% endif %}"+
			"{% if add_generation_prompt %}<|assistant|>{% endif %}",
		chattemplate.SpecialTokens{EOS: "</s>"})
	if err != nil {
		panic(err)
	}
	out, err := tmpl.Render(chattemplate.Input{
		Messages:            []chattemplate.Message{{Role: "user", Content: "Weather in Oslo?"}},
		Tools:               []json.RawMessage{json.RawMessage(`{"name": "weather", "parameters": {"city": "string"}}`)},
		AddGenerationPrompt: true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(out)
	// Output:
	// <|user|>Weather in Oslo?</s>
	// tools: [{"name": "weather", "parameters": {"city": "string"}}]
	// <|assistant|>
}
