#!/usr/bin/env bash
# Sets up has-kdc on this machine and brings up the local HA demo with Ansible
# (site.yml on inventory/local): a MariaDB, two HAS nodes as in the HAS documentation
# (emr-header-1 on 127.0.1.1, emr-worker-1 on 127.0.1.2, KDC port 88 and HTTPS port
# 8092 on both), the realm HADOOP.COM initialized once, a user to kinit as, a MySQL-plugin
# user for login-test, and client files in $HAS_LOCAL_BASE/client. Safe to re-run: a
# second run changes nothing. Extra arguments go to ansible-playbook (e.g. --check
# --diff, -v); under --check nothing starts, and the closing notes are not printed.
# The notes name the nodes, addresses and paths the inventory gives.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh

base=${HAS_LOCAL_BASE:-/var/lib/has-local}
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
.venv/bin/ansible-playbook site.yml -i inventory/local -e "has_local_base=$base" "$@"

for arg in "$@"; do
    case $arg in
    -C | --check)
        echo
        echo "Check mode: nothing was started or written; the tasks above show what a run would change."
        exit 0
        ;;
    esac
done

# What to print comes from the inventory (names, addresses, ports, paths), not from
# this script: one line per host, "name kdc_host kdc_port https_port log_dir".
inventory() {
    ANSIBLE_CALLBACK_RESULT_FORMAT=json .venv/bin/ansible "$1" -i inventory/local \
        -e "has_local_base=$base" -m ansible.builtin.debug -a "msg={{ $2 }}" |
        sed -n 's/^ *"msg": "\(.*\)"$/\1/p'
}
mapfile -t nodes < <(inventory has_servers \
    '[inventory_hostname, has_kdc_host, has_kdc_port, has_https_port, has_log_dir] | join(" ")')
read -r realm init_node venv conf_dir krb5_conf client_dir demo_user plugin_user < <(inventory has_clients \
    '[has_realm, has_init_node, hostvars[has_init_node].has_venv, hostvars[has_init_node].has_conf_dir,
      has_client_krb5_conf, has_client_has_client_conf | dirname, has_demo_principal,
      has_local_plugin_user] | join(" ")')
read -r _ last_host _ <<<"${nodes[-1]}"
for node in "${nodes[@]}"; do
    read -r name host _ port _ <<<"$node"
    if [[ $name == "$init_node" ]]; then
        init_host=$host https_port=$port
    fi
done
secret() { cat "$base/secrets/$1" 2>/dev/null || echo "(see $base/secrets/$1)"; }

echo
echo "has-kdc is up: realm $realm on ${#nodes[@]} nodes, one shared MariaDB."
for node in "${nodes[@]}"; do
    read -r name host port _ log <<<"$node"
    printf '  %-14s KDC %s:%s   logs %s\n' "$name" "$host" "$port" "$log"
done
cat <<MSG

Log in with the MIT tools (any node answers; stop one and kinit still works):
  export KRB5_CONFIG=$krb5_conf
  kinit $demo_user@$realm        # password: $(secret demo-password)
  klist
  kvno HTTP/$last_host@$realm

Or get a TGT over HTTPS with login-test (HAS's MySQL plugin; user $plugin_user, made by the
roles; has-client.conf lists every node, the first that answers issues the TGT):
  HAS_USER=$plugin_user HAS_PASSWORD=$(secret plugin-password) \\
    $venv/bin/login-test tgt $client_dir MySQL
  klist                        # Default principal: $plugin_user@$realm

The admin REST API takes SPNEGO under a node's inventory name (HTTP/$init_node@$realm;
the name is in its certificate too), e.g. as kadmin with admin.keytab:
  kinit -k -t $conf_dir/admin.keytab kadmin/$realm@$realm
  curl --negotiate -u : --cacert $client_dir/ca-root.pem --resolve $init_node:$https_port:$init_host \\
    https://$init_node:$https_port/has/v1/admin/getprincipals

Client files: $client_dir/{krb5.conf,has-client.conf,core-site.xml,ca-root.pem}
Administer:   $venv/bin/hadmin-local $conf_dir listprincs
Stop it all:  .venv/bin/ansible-playbook playbooks/stop.yml -i inventory/local -e has_local_base=$base
MSG
