"""GOV.UK-styled forms, one module per area."""
