//! The dependency graph of a catalog being published: which Blueprint pins which, the order
//! to publish in, and the reverse closure of a change.

use std::collections::{BTreeMap, BTreeSet};

/// Nodes `0..n` with edges `node → dependency`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Graph {
    /// For each node, the nodes it depends on (sorted, without duplicates).
    pub deps: Vec<BTreeSet<usize>>,
}

impl Graph {
    /// A graph of `n` nodes and no edges.
    pub fn new(n: usize) -> Graph {
        Graph {
            deps: vec![BTreeSet::new(); n],
        }
    }

    /// Adds `from → to` (`from` depends on `to`); self-edges and unknown nodes are ignored.
    pub fn add(&mut self, from: usize, to: usize) {
        if from != to
            && to < self.deps.len()
            && let Some(d) = self.deps.get_mut(from)
        {
            d.insert(to);
        }
    }

    /// The nodes in an order where every node comes after its dependencies (ties broken by
    /// index); `Err` with the nodes of a cycle when there is one.
    pub fn order(&self) -> Result<Vec<usize>, Vec<usize>> {
        let n = self.deps.len();
        let mut remaining: Vec<usize> = self.deps.iter().map(BTreeSet::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, d) in self.deps.iter().enumerate() {
            for &j in d {
                dependents[j].push(i);
            }
        }
        let mut ready: BTreeSet<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
        let mut out = Vec::with_capacity(n);
        while let Some(i) = ready.pop_first() {
            out.push(i);
            for &k in &dependents[i] {
                remaining[k] -= 1;
                if remaining[k] == 0 {
                    ready.insert(k);
                }
            }
        }
        if out.len() == n {
            return Ok(out);
        }
        Err(self.cycle(&remaining))
    }

    /// One cycle among the nodes that could not be ordered.
    fn cycle(&self, remaining: &[usize]) -> Vec<usize> {
        let Some(start) = (0..remaining.len()).find(|&i| remaining[i] > 0) else {
            return Vec::new();
        };
        // Walk dependencies that are themselves stuck until a node repeats.
        let mut seen: BTreeMap<usize, usize> = BTreeMap::new();
        let mut path = Vec::new();
        let mut cur = start;
        loop {
            if let Some(&at) = seen.get(&cur) {
                return path[at..].to_vec();
            }
            seen.insert(cur, path.len());
            path.push(cur);
            match self.deps[cur].iter().find(|&&d| remaining[d] > 0) {
                Some(&next) => cur = next,
                None => return path,
            }
        }
    }

    /// `seeds` and every node that depends on one of them, directly or through others.
    pub fn dependents_closure(&self, seeds: &BTreeSet<usize>) -> BTreeSet<usize> {
        let mut out = seeds.clone();
        loop {
            let before = out.len();
            for (i, d) in self.deps.iter().enumerate() {
                if !out.contains(&i) && d.iter().any(|j| out.contains(j)) {
                    out.insert(i);
                }
            }
            if out.len() == before {
                return out;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn graph(n: usize, edges: &[(usize, usize)]) -> Graph {
        let mut g = Graph::new(n);
        for &(a, b) in edges {
            g.add(a, b);
        }
        g
    }

    #[test]
    fn dependencies_come_first() {
        // 0 = wordpress → 1 postgres, 2 ingress → 3 tls-issuer
        let g = graph(4, &[(0, 1), (0, 2), (2, 3)]);
        let o = g.order().unwrap();
        let pos = |x| o.iter().position(|&i| i == x).unwrap();
        assert!(pos(1) < pos(0) && pos(2) < pos(0) && pos(3) < pos(2));
    }

    #[test]
    fn cycles_are_named() {
        let g = graph(3, &[(0, 1), (1, 2), (2, 1)]);
        let mut c = g.order().unwrap_err();
        c.sort();
        assert_eq!(c, vec![1, 2]);
    }

    #[test]
    fn closure_adds_dependents_only() {
        let g = graph(5, &[(0, 1), (2, 0), (3, 4)]);
        let c = g.dependents_closure(&BTreeSet::from([1]));
        assert_eq!(c, BTreeSet::from([0, 1, 2]));
    }

    proptest! {
        #[test]
        fn order_respects_every_edge(edges in proptest::collection::vec((0usize..8, 0usize..8), 0..20)) {
            // Only forward edges (a > b): acyclic by construction.
            let dag: Vec<(usize, usize)> = edges.into_iter().filter(|(a, b)| a > b).collect();
            let g = graph(8, &dag);
            let o = g.order().unwrap();
            prop_assert_eq!(o.len(), 8);
            for (a, b) in dag {
                let pa = o.iter().position(|&i| i == a).unwrap();
                let pb = o.iter().position(|&i| i == b).unwrap();
                prop_assert!(pb < pa);
            }
        }

        #[test]
        fn closure_is_closed(edges in proptest::collection::vec((0usize..8, 0usize..8), 0..20), seed in 0usize..8) {
            let g = graph(8, &edges);
            let c = g.dependents_closure(&BTreeSet::from([seed]));
            for (i, d) in g.deps.iter().enumerate() {
                if d.iter().any(|j| c.contains(j)) {
                    prop_assert!(c.contains(&i));
                }
            }
        }
    }
}
