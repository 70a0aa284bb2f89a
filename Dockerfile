# The LogiFlow worker image used by docker-compose.yml (same command and settings as the README).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY logiflow ./logiflow
COPY agents ./agents
COPY tables ./tables
RUN pip install --no-cache-dir .
# State and invoices live in volumes; the web page must bind all interfaces inside the
# container (docker-compose publishes it on the host's 127.0.0.1 only).
ENV LOGIFLOW_DATA_DIR=/var/lib/logiflow/data \
    LOGIFLOW_INVOICE_DIR=/var/lib/logiflow/invoices \
    LOGIFLOW_WEB_HOST=0.0.0.0
EXPOSE 6066
CMD ["logiflow", "worker", "-l", "info"]
