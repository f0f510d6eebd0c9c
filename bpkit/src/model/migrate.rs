//! Rewriting a Blueprint into the canonical form while keeping the author's comments.
