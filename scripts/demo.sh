#!/usr/bin/env bash
# Sets up has-kdc on this machine and brings up the local HA demo with Ansible
# (site.yml on inventory/local): a MariaDB, two HAS nodes as in the HAS documentation
# (emr-header-1 on 127.0.1.1, emr-worker-1 on 127.0.1.2, KDC port 88 and HTTPS port
# 8092 on both), the realm HADOOP.COM initialized once, a user to kinit as, a MySQL-plugin
# user for login-test, and client files in $HAS_LOCAL_BASE/client. Safe to re-run: a second run changes nothing.
# Extra arguments go to ansible-playbook (e.g. --check --diff, -v).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh

base=${HAS_LOCAL_BASE:-/var/lib/has-local}
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
.venv/bin/ansible-playbook site.yml -i inventory/local -e "has_local_base=$base" "$@"

client="$base/client"
cat <<MSG

has-kdc is up: realm HADOOP.COM on two nodes, one shared MariaDB.
  emr-header-1  KDC 127.0.1.1:88   logs $base/emr-header-1/log
  emr-worker-1  KDC 127.0.1.2:88   logs $base/emr-worker-1/log

Log in with the MIT tools (either node answers; stop one and kinit still works):
  export KRB5_CONFIG=$client/krb5.conf
  kinit demo@HADOOP.COM        # password: $(cat "$base/secrets/demo-password")
  klist
  kvno HTTP/127.0.1.2@HADOOP.COM

Or get a TGT over HTTPS with login-test (HAS's MySQL plugin; user hdfs, made by the
roles; has-client.conf lists both nodes, the first that answers issues the TGT):
  HAS_USER=hdfs HAS_PASSWORD=$(cat "$base/secrets/plugin-password") \\
    $base/emr-header-1/venv/bin/login-test tgt $client MySQL
  klist                        # Default principal: hdfs@HADOOP.COM

The admin REST API takes SPNEGO under a node's inventory name (HTTP/emr-header-1@HADOOP.COM;
the name is in its certificate too), e.g. as kadmin with admin.keytab:
  kinit -k -t $base/emr-header-1/etc/admin.keytab kadmin/HADOOP.COM@HADOOP.COM
  curl --negotiate -u : --cacert $client/ca-root.pem --resolve emr-header-1:8092:127.0.1.1 \\
    https://emr-header-1:8092/has/v1/admin/getprincipals

Client files: $client/{krb5.conf,has-client.conf,core-site.xml,ca-root.pem}
Administer:   $base/emr-header-1/venv/bin/hadmin-local $base/emr-header-1/etc listprincs
Stop it all:  .venv/bin/ansible-playbook playbooks/stop.yml -i inventory/local -e has_local_base=$base
MSG
