"""Grafana provisioning files and a Prometheus configuration for loading a drill's metrics."""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from drills.dashboards.panels import PROVISIONED_UID
from drills.dashboards.rules import EVALUATION_INTERVAL

#: Where Prometheus listens in the README's three commands.
PROMETHEUS_URL: Final[str] = "http://127.0.0.1:9090"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Datasource(_Strict):
    """A Grafana datasource."""

    name: str
    type: str
    uid: str
    access: str
    url: str
    is_default: bool = Field(alias="isDefault")
    json_data: dict[str, str] = Field(alias="jsonData")


class DatasourceFile(_Strict):
    """Grafana's datasource provisioning file."""

    api_version: int = Field(1, alias="apiVersion")
    datasources: list[Datasource]


class DashboardProvider(_Strict):
    """A Grafana dashboard provider reading JSON files from a folder."""

    name: str
    org_id: int = Field(1, alias="orgId")
    folder: str
    type: str = "file"
    disable_deletion: bool = Field(False, alias="disableDeletion")
    allow_ui_updates: bool = Field(False, alias="allowUiUpdates")
    options: dict[str, str | bool]


class DashboardProviderFile(_Strict):
    """Grafana's dashboard provisioning file."""

    api_version: int = Field(1, alias="apiVersion")
    providers: list[DashboardProvider]


class PrometheusConfig(_Strict):
    """The part of prometheus.yml beamdrill needs: the evaluation interval and the rules."""

    global_: dict[str, str] = Field(alias="global")
    rule_files: list[str]
    scrape_configs: list[dict[str, str]]


def datasources(url: str = PROMETHEUS_URL) -> DatasourceFile:
    """The Prometheus datasource the dashboards default to, at ``url``."""
    return DatasourceFile(apiVersion=1, datasources=[Datasource(
        name="beamdrill", type="prometheus", uid=PROVISIONED_UID, access="proxy", url=url,
        isDefault=False, jsonData={"timeInterval": "15s"})])


def dashboard_providers(path: str) -> DashboardProviderFile:
    """The file provider reading the dashboards from ``path``."""
    return DashboardProviderFile(apiVersion=1, providers=[DashboardProvider(
        name="beamdrill", orgId=1, folder="beamdrill", disableDeletion=False, allowUiUpdates=False, options={"path": path, "foldersFromFilesStructure": False})])


def prometheus_config() -> PrometheusConfig:
    """prometheus.yml: the rules beside it, evaluated every 15 s; nothing scraped (the data is backfilled)."""
    return PrometheusConfig.model_validate({"global": {"evaluation_interval": EVALUATION_INTERVAL,
                                                       "scrape_interval": "15s"},
                                            "rule_files": ["rules.yml"], "scrape_configs": []})
