//! Chat: prompt templates, reasoning (`<think>`) splitting, stop conditions.
