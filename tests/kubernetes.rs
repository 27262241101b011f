//! The Dockerfile and the manifests under `docs/kubernetes/` agree with each other and with the
//! binary: ports, paths, names, secret keys, flags; the policies they ship compile; the rules
//! pass `promtool`.

use std::collections::BTreeSet;
use std::fs;

use alertscale::policy::{self, CompileOptions, SourceFile};
use serde::Deserialize;
use serde_yaml::Value;

use crate::support::{alertscale, root};

fn documents(file: &str) -> Vec<Value> {
    let text = fs::read_to_string(root().join("docs/kubernetes").join(file)).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap())
        .collect()
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind}"))
}

fn str_of(value: &Value) -> &str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a string: {value:?}"))
}

struct Manifests {
    deployment: Value,
    service: Value,
    configmap: Value,
    secret: Value,
    alertmanager: Value,
}

fn manifests() -> Manifests {
    let deployment_docs = documents("deployment.yaml");
    Manifests {
        deployment: kind(&deployment_docs, "Deployment").clone(),
        service: kind(&documents("service.yaml"), "Service").clone(),
        configmap: kind(&documents("configmap.yaml"), "ConfigMap").clone(),
        secret: kind(&documents("secret.yaml"), "Secret").clone(),
        alertmanager: kind(&documents("alertmanager-config.yaml"), "ConfigMap").clone(),
    }
}

impl Manifests {
    fn container(&self) -> &Value {
        &self.deployment["spec"]["template"]["spec"]["containers"][0]
    }

    /// `--flag=value` arguments of the container.
    fn arg(&self, flag: &str) -> &str {
        self.container()["args"]
            .as_sequence()
            .unwrap()
            .iter()
            .find_map(|a| str_of(a).strip_prefix(&format!("{flag}=")))
            .unwrap_or_else(|| panic!("no {flag} argument"))
    }

    fn mount_of_volume_from(&self, source: &str, name: &str) -> String {
        let pod = &self.deployment["spec"]["template"]["spec"];
        let volume = pod["volumes"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|v| {
                v[source]["name"] == name
                    || v[source]["secretName"] == name
                    || v[source]["claimName"] == name
            })
            .unwrap_or_else(|| panic!("no volume from {source} {name}"));
        let mount = self.container()["volumeMounts"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|m| m["name"] == volume["name"])
            .unwrap();
        str_of(&mount["mountPath"]).to_string()
    }
}

#[test]
fn service_deployment_and_probes_agree() {
    let m = manifests();
    let port = &m.container()["ports"][0];
    assert_eq!(port["containerPort"], 8085);
    assert_eq!(m.service["spec"]["ports"][0]["targetPort"], port["name"]);
    assert_eq!(
        m.service["spec"]["ports"][0]["port"], 8085,
        "the recipe's webhook port"
    );
    assert_eq!(m.arg("--web.listen-address"), "0.0.0.0:8085");
    let pod_labels = &m.deployment["spec"]["template"]["metadata"]["labels"];
    for (key, value) in m.service["spec"]["selector"].as_mapping().unwrap() {
        assert_eq!(&pod_labels[key], value);
    }
    assert_eq!(m.deployment["spec"]["selector"]["matchLabels"], *pod_labels);
    assert_eq!(
        m.container()["livenessProbe"]["httpGet"]["path"],
        "/-/healthy"
    );
    assert_eq!(
        m.container()["readinessProbe"]["httpGet"]["path"],
        "/-/ready"
    );
    assert_eq!(
        m.container()["livenessProbe"]["httpGet"]["port"],
        port["name"]
    );
    let resources = &m.container()["resources"];
    for side in ["requests", "limits"] {
        for what in ["cpu", "memory"] {
            assert!(resources[side][what].is_string(), "resources.{side}.{what}");
        }
    }
    let security = &m.container()["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(
        m.deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
        true
    );
    assert_eq!(
        m.deployment["spec"]["strategy"]["type"], "Recreate",
        "one pod holds the state file at a time"
    );
}

#[test]
fn paths_and_secret_keys_agree() {
    let m = manifests();
    let policies = m.mount_of_volume_from("configMap", str_of(&m.configmap["metadata"]["name"]));
    assert_eq!(m.arg("--policies"), policies);
    let state_dir = m.mount_of_volume_from("persistentVolumeClaim", "alertscale-state");
    assert_eq!(
        std::path::Path::new(m.arg("--state.path"))
            .parent()
            .unwrap()
            .to_str(),
        Some(state_dir.as_str())
    );
    let secrets = m.mount_of_volume_from("secret", str_of(&m.secret["metadata"]["name"]));
    let keys: BTreeSet<&str> = m.secret["stringData"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(str_of)
        .collect();
    for flag in ["--scdf.basic-auth-file", "--web.bearer-token-file"] {
        let path = std::path::Path::new(m.arg(flag));
        assert_eq!(
            path.parent().unwrap().to_str(),
            Some(secrets.as_str()),
            "{flag}"
        );
        let key = path.file_name().unwrap().to_str().unwrap();
        assert!(keys.contains(key), "{flag}: the Secret has no key `{key}`");
    }
    // Alertmanager reaches the Service with the same token.
    let config: Value =
        serde_yaml::from_str(str_of(&m.alertmanager["data"]["config.yml"])).unwrap();
    let webhook = &config["receivers"][0]["webhook_configs"][0];
    let service = format!(
        "http://{}:{}/alert",
        str_of(&m.service["metadata"]["name"]),
        m.service["spec"]["ports"][0]["port"].as_u64().unwrap()
    );
    assert_eq!(str_of(&webhook["url"]), service);
    let token = str_of(&webhook["http_config"]["authorization"]["credentials_file"]);
    assert!(
        keys.contains(token.rsplit('/').next().unwrap()),
        "Alertmanager's token file is a key of the Secret"
    );
    assert_eq!(config["route"]["receiver"], config["receivers"][0]["name"]);
}

#[test]
fn every_flag_in_the_deployment_is_one_the_binary_takes() {
    let m = manifests();
    let help =
        String::from_utf8(alertscale(&["serve", "--help"]).output().unwrap().stdout).unwrap();
    for arg in m.container()["args"].as_sequence().unwrap() {
        let flag = str_of(arg).split('=').next().unwrap();
        assert!(
            help.contains(&format!("{flag} ")),
            "`alertscale serve` has no {flag}"
        );
    }
}

#[test]
fn the_shipped_policies_compile() {
    let m = manifests();
    let mut files = Vec::new();
    for (name, text) in m.configmap["data"].as_mapping().unwrap() {
        files.push(SourceFile::new(str_of(name), str_of(text)));
    }
    let checked = policy::check(&files, CompileOptions::default());
    assert!(checked.diagnostics.is_empty(), "{:#?}", checked.diagnostics);
    assert!(checked.set.len() >= 2);
}

#[test]
fn the_dockerfile_agrees_with_the_manifests_and_ci() {
    let m = manifests();
    let dockerfile = fs::read_to_string(root().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("EXPOSE 8085"));
    assert!(dockerfile.contains("USER 65532:65532"));
    assert_eq!(
        m.deployment["spec"]["template"]["spec"]["securityContext"]["runAsUser"],
        65532
    );
    assert!(
        dockerfile.contains(&format!("COPY policies {}", m.arg("--policies"))),
        "the baked-in policies sit where the ConfigMap mounts"
    );
    assert!(dockerfile.contains(&format!("\"--state.path\", \"{}\"", m.arg("--state.path"))));
    assert!(dockerfile.contains(&format!(
        "VOLUME {}",
        std::path::Path::new(m.arg("--state.path"))
            .parent()
            .unwrap()
            .display()
    )));
    let build = "cargo build --release --locked --bin alertscale";
    assert!(dockerfile.contains(build));
    let ci = fs::read_to_string(root().join(".ci/run")).unwrap();
    assert!(ci.contains(build), ".ci/run builds what the image builds");
}

#[test]
fn the_prometheus_rules_pass_promtool() {
    let rules = root().join("docs/kubernetes/prometheus-rules.yaml");
    let out = std::process::Command::new("promtool")
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .expect("promtool is installed (Debian package `prometheus`; .ci/run installs it)");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = fs::read_to_string(rules).unwrap();
    assert!(text.contains("alertscale_config_last_reload_successful == 0"));
}
