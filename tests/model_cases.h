// config.json texts for test_config (kept out of the Q_OBJECT file: moc and raw strings).
#pragma once

namespace tsumugi::test {

// Shaped like a Llama-2 7B derivative (Swallow-7b, ELYZA-japanese-Llama-2-7b).
inline constexpr const char* kLlama2Config = R"({
  "architectures": ["LlamaForCausalLM"],
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 11008,
  "max_position_embeddings": 4096,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 32,
  "pad_token_id": 0,
  "pretraining_tp": 1,
  "rms_norm_eps": 1e-05,
  "rope_scaling": null,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.33.2",
  "use_cache": true,
  "vocab_size": 43176
})";

// Shaped like Llama-3.1-Swallow-8B: GQA, llama3 RoPE scaling, several EOS ids.
inline constexpr const char* kLlama31Config = R"({
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false,
  "attention_dropout": 0.0,
  "bos_token_id": 128000,
  "eos_token_id": [128001, 128008, 128009],
  "head_dim": 128,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "intermediate_size": 14336,
  "max_position_embeddings": 131072,
  "mlp_bias": false,
  "model_type": "llama",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05,
  "rope_scaling": {"factor": 8.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "rope_theta": 500000.0,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "use_cache": true,
  "vocab_size": 128256
})";

// transformers ≥ 4.56 style: rope_parameters carries rope_theta and the scaling; "dtype".
inline constexpr const char* kRopeParametersConfig = R"({
  "architectures": ["LlamaForCausalLM"],
  "model_type": "llama",
  "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
  "num_attention_heads": 4, "num_key_value_heads": 1, "vocab_size": 100,
  "rope_parameters": {"rope_type": "linear", "factor": 2.0, "rope_theta": 20000.0},
  "dtype": "float32", "eos_token_id": null, "bos_token_id": null
})";

// Minimal: model_type only, everything optional left to transformers' defaults.
inline constexpr const char* kMinimalConfig = R"({"model_type": "llama", "hidden_size": 64,
  "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 100})";

// Used to build the error cases: each replaces or removes one key.
inline constexpr const char* kBaseConfig = R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
  "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "vocab_size": 100, "bos_token_id": 1, "eos_token_id": 2})";

// Re-dumps JSON the way transformers writes config.json (PretrainedConfig.to_json_string).
inline constexpr const char* kPythonRedump =
    "import json,sys\n"
    "t=open(sys.argv[1],encoding='utf-8').read()\n"
    "sys.stdout.write(json.dumps(json.loads(t),indent=2,sort_keys=True)+'\\n')\n";

}  // namespace tsumugi::test
