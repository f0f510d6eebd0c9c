//! `bpkit mirror`: Blueprints copied byte for byte to another registry or layout folder, with
//! their signatures, attestations and referrers, optionally their whole dependency closure and
//! the container images their SBOMs list.

use std::collections::{BTreeMap, BTreeSet};

use clap::Args;
use serde_json::json;

use super::package::report;
use super::progress::Bars;
use super::registry::{Place, RegistryArgs, connect, parse_place};
use super::trust::open_store;
use super::{Exit, Printer};
use crate::oci::copy::{Event, Progress};
use crate::publish::Target;
use crate::publish::mirror::{ImageOutcome, images_of, mirror_artifact, mirror_images};
use crate::sbom::ImageRef;
use crate::version::{Constraint, Version};

/// Arguments of `bpkit mirror`.
#[derive(Debug, Args)]
pub struct MirrorArgs {
    /// The Blueprints: `HOST/PREFIX/<name>:<version>` or `oci:DIR/<name>:<version>`.
    #[arg(required = true, value_name = "REF")]
    pub refs: Vec<String>,
    /// Where to: a registry prefix `HOST[/PREFIX]` or `oci:DIR` (one layout per Blueprint).
    #[arg(long, value_name = "TARGET")]
    pub to: String,
    /// Also copy every Blueprint they depend on (the newest version in the source repository
    /// beside them that each constraint allows), transitively.
    #[arg(long)]
    pub with_dependencies: bool,
    /// Also copy the container images each mirrored Blueprint's SBOM lists (every platform
    /// of a multi-arch index, with referrers and signatures) to `TARGET/<repository path>`.
    /// An image that cannot be copied fails the run, unless `--allow-missing-images`.
    #[arg(long)]
    pub with_images: bool,
    /// With `--with-images`: report images that cannot be copied as warnings and still exit 0
    /// (they are listed in the report either way).
    #[arg(long, requires = "with_images")]
    pub allow_missing_images: bool,
    /// Registry options (for both ends).
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// The last path segment of a repository and the rest: `("HOST/PREFIX", "bp-x")`.
fn split_repo(place: &Place) -> (String, String) {
    let repo = match place {
        Place::Layout(l) => l.dir.display().to_string(),
        Place::Registry(r) => format!("{}/{}", r.host, r.repo),
    };
    let repo = repo.trim_end_matches('/').to_string();
    match repo.rsplit_once('/') {
        Some((base, name)) => (base.to_string(), name.to_string()),
        None => (String::new(), repo),
    }
}

/// The tag a place names.
fn tag_of(place: &Place) -> Option<String> {
    match place {
        Place::Layout(l) => l.tag.clone(),
        Place::Registry(r) => r.tag.clone(),
    }
}

/// Runs `bpkit mirror`.
pub fn run(a: &MirrorArgs, p: &Printer) -> Exit {
    let target = match Target::parse(&a.to) {
        Ok(t) => t,
        Err(e) => {
            report(p, &e);
            return Exit::Error;
        }
    };
    let needs_registry = a.with_images
        || matches!(target, Target::Registry { .. })
        || a.refs
            .iter()
            .any(|r| !r.starts_with("oci:") || r.starts_with("oci://"));
    let reg = if needs_registry {
        match connect(&a.registry, p) {
            Ok(r) => Some(r),
            Err(code) => return code,
        }
    } else {
        None
    };
    let mut todo: Vec<String> = a.refs.clone();
    let mut seen = BTreeSet::new();
    let mut copied = Vec::new();
    let mut failed = Vec::new();
    let mut images: BTreeMap<ImageRef, BTreeSet<String>> = BTreeMap::new();
    let bars = Bars::new(p, "Blueprints");
    bars.event(Event::Planned {
        count: a.refs.len() as u64,
    });
    while let Some(text) = todo.pop() {
        if !seen.insert(text.clone()) {
            continue;
        }
        bars.event(Event::Message { text: &text });
        let _done = Finish(&bars, &text);
        let place = match parse_place(&text, false, p) {
            Ok(x) => x,
            Err(code) => return code,
        };
        let (base, name) = split_repo(&place);
        let Some(tag) = tag_of(&place) else {
            p.error(&format!("`{text}` names no tag; write `REPO:VERSION`"));
            return Exit::Error;
        };
        let dest = target.reference(&name, &tag);
        let stores = parse_place(&dest, true, p).and_then(|dp| {
            Ok((
                open_store(&place, reg.as_ref(), false, p)?,
                open_store(&dp, reg.as_ref(), true, p)?,
            ))
        });
        let Ok((src, dst)) = stores else {
            failed.push(text.clone());
            continue;
        };
        let (image, stats) = match mirror_artifact(src.as_ref(), dst.as_ref(), &tag, &bars) {
            Ok(x) => x,
            Err(e) => {
                report(p, &e);
                failed.push(text.clone());
                continue;
            }
        };
        p.status(&format!(
            "mirrored `{text}` to `{dest}` (`{}`): {} blobs copied, {} already there, {} referrers",
            image.digest(),
            stats.blobs_copied,
            stats.blobs_present,
            stats.referrers
        ));
        copied.push(json!({
            "source": text,
            "target": dest,
            "digest": image.digest().to_string(),
            "stats": stats,
        }));
        let bp = match crate::package::blueprint_of(&image) {
            Ok((bp, _)) => bp,
            Err(e) => {
                report(p, &e);
                failed.push(text.clone());
                continue;
            }
        };
        if a.with_images {
            match images_of(&text, &image) {
                Ok(list) => {
                    for i in list {
                        images.entry(i).or_default().insert(text.clone());
                    }
                }
                Err(e) => {
                    report(p, &e);
                    failed.push(text.clone());
                }
            }
        }
        if !a.with_dependencies {
            continue;
        }
        for d in &bp.spec.depends {
            let repo = if base.is_empty() {
                d.blueprint.clone()
            } else {
                format!("{base}/{}", d.blueprint)
            };
            let repo_text = match &place {
                Place::Layout(_) => format!("oci:{repo}"),
                Place::Registry(_) => repo.clone(),
            };
            let tags = match list_tags(&repo_text, reg.as_ref(), p) {
                Ok(t) => t,
                Err(_) => {
                    p.error(&format!(
                        "`{}` depends on `{}`, which is not in `{repo}`",
                        bp.name(),
                        d.blueprint
                    ));
                    failed.push(repo_text);
                    continue;
                }
            };
            let constraint = d.version.as_deref().and_then(|c| Constraint::parse(c).ok());
            let best = tags
                .iter()
                .filter_map(|t| Version::parse(&t.replace('_', "+")).ok().map(|v| (v, t)))
                .filter(|(v, _)| constraint.as_ref().is_none_or(|c| c.matches(v)))
                .max();
            match best {
                Some((_, t)) => {
                    let next = format!("{repo_text}:{t}");
                    if !seen.contains(&next) {
                        bars.event(Event::Planned { count: 1 });
                    }
                    todo.push(next);
                }
                None => {
                    p.error(&format!(
                        "no version of `{}` in `{repo}` matches `{}` (needed by `{}`)",
                        d.blueprint,
                        d.version.as_deref().unwrap_or("*"),
                        bp.name()
                    ));
                    failed.push(repo_text);
                }
            }
        }
    }
    bars.finish();
    let outcomes = if images.is_empty() {
        Vec::new()
    } else {
        match reg.as_ref() {
            Some(r) => {
                let list: Vec<ImageRef> = images.keys().cloned().collect();
                let ibars = Bars::new(p, "images");
                let out = mirror_images(r, &list, &target, &ibars);
                ibars.finish();
                out
            }
            None => return Exit::Error,
        }
    };
    let missing: Vec<&ImageOutcome> = outcomes.iter().filter(|o| o.error.is_some()).collect();
    for o in &missing {
        let users = ImageRef::parse(&o.image)
            .ok()
            .and_then(|i| images.get(&i))
            .map(|u| u.iter().cloned().collect::<Vec<_>>().join("`, `"))
            .unwrap_or_default();
        let text = format!(
            "cannot mirror the image `{}` (listed by `{users}`): {}",
            o.image,
            o.error.as_deref().unwrap_or_default()
        );
        if a.allow_missing_images {
            p.warn(&text);
        } else {
            p.error(&text);
        }
    }
    if p.json_mode() {
        p.json(&json!({
            "copied": copied,
            "failed": failed,
            "images": outcomes.iter().filter(|o| o.error.is_none()).collect::<Vec<_>>(),
            "imagesFailed": missing.iter().map(|o| json!({
                "image": o.image,
                "target": o.target,
                "reason": o.error,
                "neededBy": ImageRef::parse(&o.image).ok().and_then(|i| images.get(&i)),
            })).collect::<Vec<_>>(),
        }));
    }
    let image_note = if a.with_images {
        format!(
            " and {} of {} images{}",
            outcomes.len() - missing.len(),
            outcomes.len(),
            if missing.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} could not be copied{})",
                    missing.len(),
                    if a.allow_missing_images {
                        ", allowed by `--allow-missing-images`"
                    } else {
                        ""
                    }
                )
            }
        )
    } else {
        String::new()
    };
    p.status(&format!(
        "mirrored {} Blueprints{image_note} to `{target}`{}",
        copied.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!("; could not copy: {}", failed.join(", "))
        }
    ));
    if failed.is_empty() && (missing.is_empty() || a.allow_missing_images) {
        Exit::Success
    } else {
        Exit::Error
    }
}

/// Reports one finished Blueprint to the bars when dropped (whatever the way out).
struct Finish<'a>(&'a Bars, &'a str);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        self.0.event(Event::Finished { what: self.1 });
    }
}

/// The tags of a repository (`oci:DIR` or `HOST/REPO`).
fn list_tags(
    repo: &str,
    reg: Option<&crate::oci::registry::Registry>,
    p: &Printer,
) -> Result<Vec<String>, Exit> {
    let place = parse_place(repo, true, p)?;
    if let Place::Layout(l) = &place
        && !l.dir.join("oci-layout").is_file()
    {
        return Err(Exit::Error);
    }
    let store = open_store(&place, reg, false, p)?;
    match store.tags() {
        Ok(t) if !t.is_empty() => Ok(t),
        _ => Err(Exit::Error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oci::registry::Reference;

    #[test]
    fn repositories_split_into_prefix_and_name() {
        let r = Reference::parse("127.0.0.1:5000/cat/bp-x:1.0.0").unwrap();
        let (base, name) = split_repo(&Place::Registry(r));
        assert_eq!(
            (base.as_str(), name.as_str()),
            ("127.0.0.1:5000/cat", "bp-x")
        );
    }
}
