# The web server, worker and beat share this image (see docker-compose.yml).
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY static ./static
RUN mkdir -p .data/assets && npm run build:css

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/app/.data \
    MEDIA_ROOT=/var/lib/safeguarding/media
WORKDIR /app
RUN useradd --create-home --uid 1000 app \
    && mkdir -p /var/lib/safeguarding/media && chown app /var/lib/safeguarding/media
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir .
COPY . .
COPY --from=assets /app/node_modules/govuk-frontend/dist/govuk node_modules/govuk-frontend/dist/govuk
COPY --from=assets /app/.data/assets .data/assets
RUN SECRET_KEY=collectstatic-only DATABASE_URL=sqlite:// python manage.py collectstatic --no-input -v 0 \
    && chown -R app /app/.data
USER app
EXPOSE 8000
CMD ["gunicorn", "safeguarding.wsgi", "-c", "python:safeguarding.gunicorn", "--bind", "0.0.0.0:8000"]
