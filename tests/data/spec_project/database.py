"""Data access: the shape of the code the specification's HasteOptimizer reference example reads."""

import sqlite3


def connect(path):
    return sqlite3.connect(path)


def find_orders(conn, customer_id):
    """All orders of one customer, newest first."""
    cursor = conn.execute(
        "SELECT id, total, created FROM orders WHERE customer_id = ? ORDER BY created DESC", (customer_id,)
    )
    return cursor.fetchall()


def insert_order(conn, customer_id, total):
    conn.execute("INSERT INTO orders (customer_id, total) VALUES (?, ?)", (customer_id, total))
    conn.commit()


def format_total(total):
    return f"{total:.2f} EUR"
