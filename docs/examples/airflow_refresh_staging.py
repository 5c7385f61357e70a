"""Airflow DAG: refresh staging from production every night with pgsluice (a BashOperator).

The worker needs the pgsluice package and a pg_dump at least as new as the source server;
connection details come from a service file and a password file on the worker (or mounted
from a secrets backend), the salt from an Airflow Variable exposed as an environment variable.
"""

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(
    dag_id="pgsluice_refresh_staging",
    schedule="30 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 0},  # pgsluice retries transient failures itself (--retries)
    tags=["pgsluice"],
) as dag:
    BashOperator(
        task_id="copy",
        bash_command=(
            "pgsluice copy --source service=prod --target service=staging"
            " --swap --terminate-connections --verify --rules /etc/pgsluice/rules.yaml"
            " --progress plain --report /tmp/pgsluice-{{ ds }}.json"
        ),
        env={
            "PGSERVICEFILE": "/etc/pgsluice/pg_service.conf",
            "PGPASSFILE": "/etc/pgsluice/pgpass",
            "PGSLUICE_SALT": "{{ var.value.pgsluice_salt }}",
        },
        append_env=True,  # keep PATH and the rest of the worker's environment
        execution_timeout=timedelta(hours=6),
    )
